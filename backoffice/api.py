"""The staff order API: the admin's actions for integrations (same services, same groups).

Authentication: a staff user's token (``Authorization: Token …``). Anonymous → 401
``not_authenticated``; a customer or a staff user without the permission → 403
``permission_denied`` (before the order is looked up, so ids leak nothing).
"""

from collections.abc import Callable
from typing import Any, TypeVar

from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from backoffice import permissions as perms
from backoffice import serializers as io
from backoffice import services as staff
from backoffice.refund_requests import refund_once
from backoffice.selectors import order_get_for_staff, orders_for_staff
from core.api import COMMON_ERRORS, StandardPagination, error_body, error_response
from core.errors import NotFound
from orders import idempotency
from orders.models import Order
from orders.states import OrderState, PaymentStatus
from payments.models import REFUND_KEY_MAX_LENGTH, Refund, RefundStatus
from security.throttles import StaffThrottle

_View = TypeVar("_View", bound=Callable[..., Any])


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

    input_serializer: type[serializers.Serializer[Any]]

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


def _action_schema(
    operation_id: str, request: Any, conflicts: str, **extra: Any
) -> Callable[[_View], _View]:
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


class StaffOrderRefundApi(StaffApiView):
    """Refund under a required Idempotency-Key (``backoffice.refund_requests``)."""

    @extend_schema(
        operation_id="staff_orders_refund",
        tags=["staff"],
        request=io.RefundInputSerializer,
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                required=True,
                description=(
                    "One key per refund request: a repeat with the same key and body gets the "
                    "first answer again; the same key with another body is 422. "
                    f"1 to {REFUND_KEY_MAX_LENGTH} visible ASCII characters."
                ),
            )
        ],
        responses={
            200: OpenApiResponse(
                io.StaffRefundResultSerializer,
                description="The order and the refund made: processed, or pending (sent and "
                "not yet confirmed by the gateway: its webhook or reconciliation settles it; "
                "refund.outcome_unknown when the gateway's answer was lost). A pending refund's "
                "amount is held: it counts against the refundable balance.",
            ),
            **ACTION_ERRORS,
            400: error_response("idempotency_key_required, idempotency_key_invalid, "
                                "validation_error"),
            409: error_response(
                "refund_not_allowed (details.reason: cancel_instead, in_delivery, nothing_paid), "
                "refund_exceeds_refundable, refund_held_dispute_open, refund_invalid, "
                "request_in_progress"
            ),
            422: error_response("idempotency_key_reused"),
            502: error_response(
                "the gateway refused the refund (payment_gateway_rejected, "
                "payment_gateway_unavailable before it was sent…): details.refund_id, failed"
            ),
        },
    )  # fmt: skip
    def post(self, request: Request, order_id: int) -> Response:
        perms.require_staff_permission(request.user, perms.VIEW)
        if not Order.objects.filter(pk=order_id).exists():
            raise NotFound("Order not found.", details={"order_id": order_id})
        perms.require_staff_permission(request.user, perms.REFUND)
        key = idempotency.validate_key(
            request.headers.get("Idempotency-Key"), max_length=REFUND_KEY_MAX_LENGTH
        )
        data = io.RefundInputSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        answer = refund_once(
            order_id=order_id,
            data=data.validated_data,
            key=key,
            actor=request.user,
            render=_render_refund,
        )
        return Response(answer.body, status=answer.status)


def _render_refund(refund: Refund) -> tuple[int, dict[str, Any]]:
    if refund.status == RefundStatus.FAILED:
        details = {"refund_id": refund.pk, "failure": refund.failure_reason}
        return 502, error_body("payment_gateway_rejected", "The gateway refused the refund.",
                               details)  # fmt: skip
    order = order_get_for_staff(order_id=refund.payment.order_id)
    body = io.StaffRefundResultSerializer(order, context={"refund": refund}).data
    return 200, body


class StaffOrderCancelApi(_StaffOrderActionApi):
    input_serializer = io.StaffCancelInputSerializer

    def permission_for(self, order: Order) -> str:
        return perms.REFUND if staff.cancel_needs_refund(order) else perms.CANCEL_UNPAID

    def perform(self, order: Order, data: dict[str, Any], user: Any) -> None:
        staff.cancel_order(
            order_id=order.pk,
            actor=user,
            reason=data["reason"],
            allow_refund=perms.has_staff_permission(user, perms.REFUND),
            customer_message=data["customer_message"],
            idempotency_key=idempotency.validate_optional_key(
                self.request.headers.get("Idempotency-Key"), max_length=REFUND_KEY_MAX_LENGTH
            ),
        )

    @_action_schema(
        "staff_orders_cancel",
        io.StaffCancelInputSerializer,
        "order_not_cancellable, and the refund codes for a paid order",
        parameters=[
            OpenApiParameter(
                "Idempotency-Key",
                str,
                OpenApiParameter.HEADER,
                required=False,
                description="Used as the key of the refund a paid order's cancellation makes.",
            )
        ],
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
