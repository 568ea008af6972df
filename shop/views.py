"""Thin API views: validate input, call a service or selector, render the result."""

from drf_spectacular.utils import extend_schema
from rest_framework import generics, status
from rest_framework.permissions import AllowAny
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import COMMON_ERRORS, error_response
from shop import selectors, services
from shop.serializers import (
    AddressInputSerializer,
    AddressOutputSerializer,
    CartItemAddInputSerializer,
    CartItemUpdateInputSerializer,
    CartOutputSerializer,
    ProductFilterSerializer,
    ProductOutputSerializer,
)

BAD_INPUT = {400: COMMON_ERRORS[400]}
NEEDS_AUTH = dict(COMMON_ERRORS)


def _cart_response(request: Request, status_code: int = status.HTTP_200_OK) -> Response:
    summary = selectors.cart_summary(customer=request.user)
    return Response(CartOutputSerializer(summary).data, status=status_code)


# --- Catalog --------------------------------------------------------------------------------


@extend_schema(
    tags=["catalog"],
    summary="Active products",
    parameters=[ProductFilterSerializer],
    responses={200: ProductOutputSerializer(many=True), 400: COMMON_ERRORS[400]},
    auth=[],
)
class ProductListView(generics.ListAPIView):
    permission_classes = [AllowAny]
    serializer_class = ProductOutputSerializer

    def get_queryset(self):
        filters = ProductFilterSerializer(data=self.request.query_params)
        filters.is_valid(raise_exception=True)
        return selectors.product_list_active(**filters.validated_data)


@extend_schema(
    tags=["catalog"],
    summary="One active product",
    responses={200: ProductOutputSerializer, 404: error_response("not_found")},
    auth=[],
)
class ProductDetailView(generics.RetrieveAPIView):
    permission_classes = [AllowAny]
    serializer_class = ProductOutputSerializer

    def get_queryset(self):
        return selectors.product_list_active()


# --- Cart -----------------------------------------------------------------------------------

CART_ITEM_ERRORS = {
    404: error_response("cart_item_not_found"),
    409: error_response("product_inactive or insufficient_stock"),
}


class CartView(APIView):
    @extend_schema(
        tags=["cart"],
        summary="The customer's cart, priced now",
        responses={200: CartOutputSerializer, 401: COMMON_ERRORS[401]},
    )
    def get(self, request: Request) -> Response:
        return _cart_response(request)


class CartItemsView(APIView):
    @extend_schema(
        tags=["cart"],
        summary="Add a product (adds to its line when already in the cart)",
        request=CartItemAddInputSerializer,
        responses={
            201: CartOutputSerializer,
            400: error_response("validation_error, malformed_request or quantity_limit_exceeded"),
            401: COMMON_ERRORS[401],
            404: error_response("product_not_found"),
            409: error_response("product_inactive, currency_mismatch or insufficient_stock"),
        },
    )
    def post(self, request: Request) -> Response:
        serializer = CartItemAddInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.cart_add_item(customer=request.user, **serializer.validated_data)
        return _cart_response(request, status.HTTP_201_CREATED)


class CartItemView(APIView):
    @extend_schema(
        tags=["cart"],
        summary="Set the quantity of a cart line",
        request=CartItemUpdateInputSerializer,
        responses={200: CartOutputSerializer, **NEEDS_AUTH, **CART_ITEM_ERRORS},
    )
    def patch(self, request: Request, item_id: int) -> Response:
        serializer = CartItemUpdateInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        services.cart_item_set_quantity(
            customer=request.user, item_id=item_id, **serializer.validated_data
        )
        return _cart_response(request)

    @extend_schema(
        tags=["cart"],
        summary="Remove a cart line",
        responses={
            200: CartOutputSerializer,
            401: COMMON_ERRORS[401],
            404: error_response("cart_item_not_found"),
        },
    )
    def delete(self, request: Request, item_id: int) -> Response:
        services.cart_item_remove(customer=request.user, item_id=item_id)
        return _cart_response(request)


# --- Address book ---------------------------------------------------------------------------

ADDRESS_NOT_FOUND = {404: error_response("address_not_found")}


class AddressListView(APIView):
    @extend_schema(
        tags=["addresses"],
        summary="The customer's addresses, default first",
        responses={200: AddressOutputSerializer(many=True), 401: COMMON_ERRORS[401]},
    )
    def get(self, request: Request) -> Response:
        addresses = selectors.address_list_for_customer(customer=request.user)
        return Response(AddressOutputSerializer(addresses, many=True).data)

    @extend_schema(
        tags=["addresses"],
        summary="Add an address",
        request=AddressInputSerializer,
        responses={201: AddressOutputSerializer, **NEEDS_AUTH},
    )
    def post(self, request: Request) -> Response:
        serializer = AddressInputSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        address = services.address_create(customer=request.user, data=serializer.validated_data)
        return Response(AddressOutputSerializer(address).data, status=status.HTTP_201_CREATED)


class AddressDetailView(APIView):
    @extend_schema(
        tags=["addresses"],
        summary="One address",
        responses={200: AddressOutputSerializer, 401: COMMON_ERRORS[401], **ADDRESS_NOT_FOUND},
    )
    def get(self, request: Request, address_id: int) -> Response:
        address = selectors.address_get_for_customer(customer=request.user, address_id=address_id)
        return Response(AddressOutputSerializer(address).data)

    @extend_schema(
        tags=["addresses"],
        summary="Change an address (only the fields sent)",
        request=AddressInputSerializer(partial=True),
        responses={200: AddressOutputSerializer, **NEEDS_AUTH, **ADDRESS_NOT_FOUND},
    )
    def patch(self, request: Request, address_id: int) -> Response:
        serializer = AddressInputSerializer(data=request.data, partial=True)
        serializer.is_valid(raise_exception=True)
        address = services.address_update(
            customer=request.user, address_id=address_id, data=serializer.validated_data
        )
        return Response(AddressOutputSerializer(address).data)

    @extend_schema(
        tags=["addresses"],
        summary="Delete an address",
        responses={204: None, 401: COMMON_ERRORS[401], **ADDRESS_NOT_FOUND},
    )
    def delete(self, request: Request, address_id: int) -> Response:
        services.address_delete(customer=request.user, address_id=address_id)
        return Response(status=status.HTTP_204_NO_CONTENT)
