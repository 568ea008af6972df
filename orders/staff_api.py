"""The staff order API: the admin's actions for integrations (same services, same groups).

Authentication: a staff user's token (``Authorization: Token …``). Anonymous → 401
``not_authenticated``; a customer or a staff user without the permission → 403
``permission_denied`` (before the order is looked up, so ids leak nothing).
"""

from typing import Any

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from config.api import COMMON_ERRORS, StandardPagination, error_response
from config.errors import NotFound
from observability.throttles import StaffThrottle
from orders import idempotency
from orders import permissions as perms
from orders import staff_serializers as io
from orders.models import Order
from orders.services import staff
from orders.staff_selectors import order_get_for_staff, orders_for_staff
from orders.states import OrderState, PaymentStatus
from payments.models import Refund

# The refund's key is stored with it and sent to the gateway as its own idempotency key.
REFUND_KEY_MAX_LENGTH = Refund._meta.get_field("idempotency_key").max_length


class StaffApiView(APIView):
    throttle_classes = [StaffThrottle]


ACTION_ERRORS = {
    **COMMON_ERRORS,
    403: error_response("permission_denied"),
    404: error_response("not_found"),
    429: error_response("throttled (THROTTLE_STAFF_RATE per staff user)"),
}


class StaffOrderListApi(StaffApiView):
    pagination_class = StandardPagination  # also tells the schema the list comes in pages

    @extend_schema(
        operation_id="staff_orders_list",
        tags=["staff"],
        parameters=[
            OpenApiParameter("state", str, enum=OrderState.values),
            OpenApiParameter("payment_status", str, enum=PaymentStatus.values),
            OpenApiParameter("payment_method", str),
            OpenApiParameter("needs_attention", bool),
            OpenApiParameter("created_from", str, description="YYYY-MM-DD, inclusive"),
            OpenApiParameter("created_to", str, description="YYYY-MM-DD, inclusive"),
            OpenApiParameter("search", str, description="number, email or phone (contains)"),
            OpenApiParameter("page", int),
            OpenApiParameter("page_size", int),
        ],
        responses={
            200: io.StaffOrderSummarySerializer(many=True),
            **COMMON_ERRORS,
            403: error_response("permission_denied"),
        },
    )
    def get(self, request: Request) -> Response:
        perms.require_staff_permission(request.user, perms.VIEW)
        filters = io.StaffOrderFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        orders = orders_for_staff(**filters.validated_data)
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(orders, request, view=self)
        body = io.StaffOrderSummarySerializer(page, many=True).data
        return paginator.get_paginated_response(body)


class StaffOrderDetailApi(StaffApiView):
    @extend_schema(
        operation_id="staff_orders_retrieve",
        tags=["staff"],
        responses={200: io.StaffOrderDetailSerializer, **ACTION_ERRORS},
    )
    def get(self, request: Request, order_id: int) -> Response:
        perms.require_staff_permission(request.user, perms.VIEW)
        return Response(io.StaffOrderDetailSerializer(order_get_for_staff(order_id=order_id)).data)


class _StaffOrderActionApi(StaffApiView):
    """Check view permission, find the order, check the action's permission, validate, call
    the service, answer the order as staff see it."""

    input_serializer: type[serializers.Serializer]

    def permission_for(self, order: Order) -> str:
        raise NotImplementedError

    def perform(self, order: Order, data: dict[str, Any], user: Any) -> None:
        raise NotImplementedError

    def act(self, request: Request, order_id: int) -> Response:
        perms.require_staff_permission(request.user, perms.VIEW)
        order = Order.objects.filter(pk=order_id).first()
        if order is None:
            raise NotFound("Order not found.", details={"order_id": order_id})
        perms.require_staff_permission(request.user, self.permission_for(order))
        data = self.input_serializer(data=request.data)
        data.is_valid(raise_exception=True)
        self.perform(order, data.validated_data, request.user)
        return Response(io.StaffOrderDetailSerializer(order_get_for_staff(order_id=order_id)).data)


def _action_schema(operation_id: str, request: Any, conflicts: str, **extra: Any) -> Any:
    return extend_schema(
        **extra,
        operation_id=operation_id,
        tags=["staff"],
        request=request,
        responses={
            200: io.StaffOrderDetailSerializer,
            **ACTION_ERRORS,
            409: error_response(conflicts),
        },
    )


class StaffOrderStatusApi(_StaffOrderActionApi):
    input_serializer = io.StatusInputSerializer

    def permission_for(self, order: Order) -> str:
        return perms.FULFIL

    def perform(self, order: Order, data: dict[str, Any], user: Any) -> None:
        staff.update_order_status(
            order_id=order.pk,
            to_state=data["to_state"],
            actor=user,
            reason=data["reason"],
            tracking_number=data.get("tracking_number"),
            carrier=data.get("carrier"),
        )

    @_action_schema(
        "staff_orders_status",
        io.StatusInputSerializer,
        "invalid_transition (tracking_required is a 400)",
    )
    def post(self, request: Request, order_id: int) -> Response:
        return self.act(request, order_id)


class StaffOrderRefundApi(_StaffOrderActionApi):
    input_serializer = io.RefundInputSerializer

    def permission_for(self, order: Order) -> str:
        return perms.REFUND

    def perform(self, order: Order, data: dict[str, Any], user: Any) -> None:
        staff.refund(
            order_id=order.pk,
            amount=data["amount"],
            lines=data["lines"],
            restock=data["restock"],
            reason=data["reason"],
            actor=user,
            idempotency_key=idempotency.validate_optional_key(
                self.request.headers.get("Idempotency-Key"), max_length=REFUND_KEY_MAX_LENGTH
            ),
        )

    @_action_schema(
        "staff_orders_refund",
        io.RefundInputSerializer,
        "refund_exceeds_refundable, refund_not_allowed, refund_held_dispute_open, refund_invalid, "
        "idempotency_key_invalid "
        "(502: payment_gateway_unavailable and other gateway errors)",
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                required=False,
                description=(
                    "Repeat a refund request safely: the same key returns the first. "
                    f"1 to {REFUND_KEY_MAX_LENGTH} visible ASCII characters."
                ),
            )
        ],
    )
    def post(self, request: Request, order_id: int) -> Response:
        return self.act(request, order_id)


class StaffOrderCancelApi(_StaffOrderActionApi):
    input_serializer = io.ReasonInputSerializer

    def permission_for(self, order: Order) -> str:
        return perms.REFUND if staff.cancel_needs_refund(order) else perms.CANCEL_UNPAID

    def perform(self, order: Order, data: dict[str, Any], user: Any) -> None:
        staff.cancel_order(
            order_id=order.pk,
            actor=user,
            reason=data["reason"],
            allow_refund=perms.has_staff_permission(user, perms.REFUND),
        )

    @_action_schema(
        "staff_orders_cancel",
        io.ReasonInputSerializer,
        "order_not_cancellable, and the refund codes for a paid order",
    )
    def post(self, request: Request, order_id: int) -> Response:
        return self.act(request, order_id)


class StaffConfirmBankTransferApi(_StaffOrderActionApi):
    input_serializer = io.BankTransferInputSerializer

    def permission_for(self, order: Order) -> str:
        return perms.CONFIRM_BANK_TRANSFER

    def perform(self, order: Order, data: dict[str, Any], user: Any) -> None:
        staff.confirm_bank_transfer(
            order_id=order.pk,
            amount=data["amount"],
            reference=data["reference"],
            actor=user,
            reason=data["reason"],
        )

    @_action_schema(
        "staff_orders_confirm_bank_transfer",
        io.BankTransferInputSerializer,
        "transfer_amount_mismatch, wrong_payment_method, invalid_transition",
    )
    def post(self, request: Request, order_id: int) -> Response:
        return self.act(request, order_id)


class StaffAcceptCodApi(_StaffOrderActionApi):
    input_serializer = io.OptionalReasonInputSerializer

    def permission_for(self, order: Order) -> str:
        return perms.FULFIL

    def perform(self, order: Order, data: dict[str, Any], user: Any) -> None:
        staff.accept_cod_order(order_id=order.pk, actor=user, reason=data["reason"])

    @_action_schema(
        "staff_orders_accept_cod",
        io.OptionalReasonInputSerializer,
        "wrong_payment_method, invalid_transition, insufficient_stock",
    )
    def post(self, request: Request, order_id: int) -> Response:
        return self.act(request, order_id)


class StaffCashCollectedApi(_StaffOrderActionApi):
    input_serializer = io.CashCollectedInputSerializer

    def permission_for(self, order: Order) -> str:
        return perms.RECORD_CASH

    def perform(self, order: Order, data: dict[str, Any], user: Any) -> None:
        staff.mark_cash_collected(
            order_id=order.pk, amount=data["amount"], actor=user, reason=data["reason"]
        )

    @_action_schema(
        "staff_orders_cash_collected",
        io.CashCollectedInputSerializer,
        "wrong_payment_method, invalid_transition, payment_mismatch",
    )
    def post(self, request: Request, order_id: int) -> Response:
        return self.act(request, order_id)


class StaffDeliveryRefusedApi(_StaffOrderActionApi):
    input_serializer = io.ReasonInputSerializer

    def permission_for(self, order: Order) -> str:
        return perms.FULFIL

    def perform(self, order: Order, data: dict[str, Any], user: Any) -> None:
        staff.mark_delivery_refused(order_id=order.pk, actor=user, reason=data["reason"])

    @_action_schema(
        "staff_orders_delivery_refused",
        io.ReasonInputSerializer,
        "wrong_payment_method, invalid_transition",
    )
    def post(self, request: Request, order_id: int) -> Response:
        return self.act(request, order_id)
