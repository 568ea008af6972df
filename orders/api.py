"""Checkout and the customer's orders: thin views that parse, call a service, render."""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import COMMON_ERRORS, StandardPagination, error_response
from core.errors import DomainError
from observability.metrics import CHECKOUTS, bounded_label
from orders import idempotency
from orders.checkout import CheckoutRequest, PlacedOrder
from orders.checkout_requests import place_order_once
from orders.payment_methods import payment_method_or_none
from orders.selectors import order_get_for_customer, orders_for_customer
from orders.serializers import (
    CancelInputSerializer,
    CheckoutInputSerializer,
    CheckoutOutputSerializer,
    OrderDetailSerializer,
    OrderOutputSerializer,
    OrderSummarySerializer,
)
from orders.services import cancel_order
from orders.states import ActorType, OrderState
from security.throttles import CheckoutThrottle
from shop.permissions import VerifiedEmailWhenRequired

IDEMPOTENCY_HEADER = OpenApiParameter(
    "Idempotency-Key",
    str,
    OpenApiParameter.HEADER,
    required=True,
    description="A unique value per checkout attempt (e.g. a UUID); retries reuse it.",
)


def render_placed_order(placed: PlacedOrder) -> dict[str, Any]:
    body = OrderOutputSerializer(placed.order, context={"items": placed.items}).data
    body["payment"] = placed.payment_method.instructions(placed.order)
    return idempotency.as_json(body)


# Checkout outcomes counted on /metrics: placed, replayed, or the refusal's error code.
CHECKOUT_OUTCOMES = (
    "placed", "replayed", "insufficient_stock", "price_changed", "cart_empty",
    "product_inactive", "currency_mismatch", "address_not_found", "payment_method_not_allowed",
    "idempotency_key_required", "idempotency_key_reused", "request_in_progress",
    "validation_error", "cart_changed", "too_many_unpaid_orders",
)  # fmt: skip


class CheckoutApi(APIView):
    permission_classes = [IsAuthenticated, VerifiedEmailWhenRequired]
    throttle_classes = [CheckoutThrottle]

    @extend_schema(
        operation_id="checkout",
        parameters=[IDEMPOTENCY_HEADER],
        request=CheckoutInputSerializer,
        responses={
            201: CheckoutOutputSerializer,
            **COMMON_ERRORS,
            403: error_response("email_not_verified (ACCOUNTS_REQUIRE_VERIFIED_EMAIL)"),
            404: error_response("address_not_found"),
            409: error_response(
                "insufficient_stock, price_changed, product_inactive, currency_mismatch, "
                "request_in_progress, cart_changed, too_many_unpaid_orders"
            ),
            422: error_response("idempotency_key_reused"),
        },
        description=(
            "Place an order from the cart. Send the same Idempotency-Key to retry safely: the "
            "same body replays the first response (header `Idempotent-Replayed: true`)."
        ),
    )
    def post(self, request: Request) -> Response:
        try:
            response = self._checkout(request)
        except DomainError as exc:
            CHECKOUTS.labels(bounded_label(exc.code, CHECKOUT_OUTCOMES)).inc()
            raise
        except serializers.ValidationError:
            CHECKOUTS.labels("validation_error").inc()
            raise
        replayed = response.headers.get("Idempotent-Replayed") == "true"
        CHECKOUTS.labels("replayed" if replayed else "placed").inc()
        return response

    def _checkout(self, request: Request) -> Response:
        key = idempotency.validate_key(request.headers.get("Idempotency-Key"))
        data = CheckoutInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        params = data.validated_data
        answer = place_order_once(
            CheckoutRequest(
                customer=request.user,
                payment_method=params["payment_method"],
                address_id=params.get("address_id"),
                new_address=params.get("address"),
                save_address=params["save_address"],
                expected_total=params.get("expected_total"),
                note=params["note"],
            ),
            key=key,
            fingerprint=idempotency.fingerprint(request.data),
            render=render_placed_order,
        )
        if answer.replayed:
            body = with_current_payment(answer.body)
            return Response(body, status=answer.status, headers={"Idempotent-Replayed": "true"})
        body, placed = answer.body, answer.placed
        start = placed.payment_method.start_after_commit if placed else None
        if placed is not None and start is not None:
            # Gateways: the payment is opened after commit, outside any transaction; the
            # stored answer keeps the instructions (a replay shows the payment as it is then).
            body = {**body, "payment": idempotency.as_json(start(placed.order))}
        return Response(body, status=status.HTTP_201_CREATED)


def with_current_payment(body: dict[str, Any]) -> dict[str, Any]:
    """A replayed checkout answer with its payment as it is now (the stored one was written
    before a gateway opened the payment)."""
    method = payment_method_or_none(str(body.get("payment_method", "")))
    if method is None or method.current_payment is None:
        return body
    payment = method.current_payment(int(body["id"]))
    return body if payment is None else {**body, "payment": payment}


class OrderListApi(APIView):
    pagination_class = StandardPagination  # also tells the schema the list comes in pages

    class FilterSerializer(serializers.Serializer):
        state = serializers.ChoiceField(choices=OrderState.choices, required=False)

    @extend_schema(
        operation_id="orders_list",
        parameters=[
            OpenApiParameter("state", str, enum=OrderState.values, required=False),
            OpenApiParameter("page", int, required=False),
            OpenApiParameter("page_size", int, required=False),
        ],
        responses={200: OrderSummarySerializer(many=True), **COMMON_ERRORS},
    )
    def get(self, request: Request) -> Response:
        filters = self.FilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        orders = orders_for_customer(
            customer=request.user, state=filters.validated_data.get("state")
        )
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(orders, request, view=self)
        return paginator.get_paginated_response(OrderSummarySerializer(page, many=True).data)


class OrderDetailApi(APIView):
    @extend_schema(
        operation_id="orders_retrieve",
        responses={200: OrderDetailSerializer, **COMMON_ERRORS, 404: error_response("not_found")},
    )
    def get(self, request: Request, order_id: int) -> Response:
        order = order_get_for_customer(customer=request.user, order_id=order_id)
        return Response(OrderDetailSerializer(order).data)


class OrderCancelApi(APIView):
    @extend_schema(
        operation_id="orders_cancel",
        request=CancelInputSerializer,
        responses={
            200: OrderDetailSerializer,
            **COMMON_ERRORS,
            404: error_response("not_found"),
            409: error_response("order_not_cancellable"),
        },
        description="Cancel an unpaid order; its stock goes back on sale at once.",
    )
    def post(self, request: Request, order_id: int) -> Response:
        data = CancelInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        order = order_get_for_customer(customer=request.user, order_id=order_id)
        cancel_order(
            order_id=order.pk,
            actor_type=ActorType.CUSTOMER,
            actor=request.user,
            reason=data.validated_data["reason"],
        )
        order = order_get_for_customer(customer=request.user, order_id=order_id)
        return Response(OrderDetailSerializer(order).data)
