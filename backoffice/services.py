"""What staff do to an order, from the admin or the staff API.

Each action checks the staff-specific rules, then calls the lifecycle service that owns the
state change (which locks the row and writes the ``OrderEvent`` with ``actor_type=staff`` and
the staff user in the same transaction; ``record_event`` queues the customer's notification
in that transaction too). Permissions are checked by the callers with
``backoffice.permissions.require_staff_permission``.

Refunds go through ``payments.services.issue_refund`` (the gateway, or a manual record for
bank transfer and cash on delivery); there is no second refund path here. Which states allow a
refund is ``orders.services.refund_refusal``, checked by that service under the order lock
before the gateway is called; ``can_refund`` asks the same rule to draw the button.

``reason`` is internal (the order's timeline, staff only); ``customer_message`` is what the
customer's email or SMS says, and is empty unless staff write one.
"""

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any

from django.db import transaction
from django_fsm import can_proceed

from backoffice.permissions import REFUND, StaffPermissionDenied
from core.errors import DomainError, NotFound
from orders.errors import (
    OrderNotCancellable,
    ReasonRequired,
    RefundInvalid,
    StatusChangeNotSupported,
    TrackingRequired,
    TransferAmountMismatch,
    WrongPaymentMethod,
)
from orders.models import COD, Order
from orders.payment_methods import BANK_TRANSFER
from orders.services import lifecycle, lock_order, payment, refund_refusal, refuse
from orders.services import refundable_balance as order_refundable
from orders.states import UNPAID_STATES, ActorType, OrderState, PaymentStatus
from payments.services import (
    IssuedRefund,
    issue_refund,
    record_unapplied_payment,
    request_refund,
    unapplied_payments,
)

S = OrderState
STAFF = ActorType.STAFF

# Target state → (the Order transition, the lifecycle service). update_order_status moves
# only along these edges; every other state has its own action.
_STATUS_STEPS: dict[str, tuple[str, Callable[..., Order]]] = {
    S.PROCESSING: ("start_processing", lifecycle.start_processing),
    S.READY_FOR_SHIPMENT: ("mark_ready_for_shipment", lifecycle.mark_ready_for_shipment),
    S.SHIPPED: ("mark_shipped", lifecycle.mark_shipped),
    S.IN_TRANSIT: ("mark_in_transit", lifecycle.mark_in_transit),
    S.DELIVERED: ("mark_delivered", lifecycle.mark_delivered),
    S.ARCHIVED: ("archive", lifecycle.archive_order),
}
STATUS_TARGETS = tuple(_STATUS_STEPS)
COD_COLLECTABLE_STATES = (
    S.PROCESSING,
    S.READY_FOR_SHIPMENT,
    S.SHIPPED,
    S.IN_TRANSIT,
    S.DELIVERED,
)
CANCELLABLE_BY_STAFF = (*UNPAID_STATES, S.PAID, S.PROCESSING, S.READY_FOR_SHIPMENT)


def status_targets(order: Order) -> list[str]:
    """The fulfilment states ``update_order_status`` can move this order to now (processing
    for a cash-on-delivery order waiting to be accepted: accepting it)."""
    if order.is_cash_on_delivery and can_proceed(order.accept_cash_on_delivery):
        return [S.PROCESSING]
    return [
        target
        for target, (method, _) in _STATUS_STEPS.items()
        if can_proceed(getattr(order, method))
    ]


def update_order_status(
    *,
    order_id: int,
    to_state: str,
    actor: Any,
    reason: str = "",
    tracking_number: str | None = None,
    carrier: str | None = None,
) -> Order:
    """Move the order one fulfilment step (processing … archived). ``shipped`` needs a
    tracking number and a carrier; ``processing`` accepts a cash-on-delivery order. A step
    the order cannot take raises ``invalid_transition`` (its ``allowed`` lists the steps this
    call can take now) and changes nothing."""
    if to_state not in _STATUS_STEPS:
        raise StatusChangeNotSupported(
            details={"to_state": to_state, "supported": list(_STATUS_STEPS)}
        )
    order = Order.objects.filter(pk=order_id).first()
    if order is None:
        raise NotFound("Order not found.", details={"order_id": order_id})
    if to_state == S.PROCESSING and order.is_cash_on_delivery and order.state == S.PENDING_PAYMENT:
        return accept_cod_order(order_id=order_id, actor=actor, reason=reason)
    method_name, service = _STATUS_STEPS[to_state]
    if not can_proceed(getattr(order, method_name)):
        error = refuse(order, to_state)
        error.details["allowed"] = status_targets(order)
        raise error
    if to_state == S.SHIPPED:
        tracking_number, carrier = (tracking_number or "").strip(), (carrier or "").strip()
        if not tracking_number or not carrier:
            raise TrackingRequired(details={"tracking_number": tracking_number, "carrier": carrier})
        order = service(
            order_id=order_id,
            tracking_number=tracking_number,
            carrier=carrier,
            actor=actor,
            actor_type=STAFF,
            reason=reason,
        )
    else:
        order = service(order_id=order_id, actor=actor, actor_type=STAFF, reason=reason)
    return order


def cancel_order(
    *,
    order_id: int,
    actor: Any,
    reason: str,
    allow_refund: bool,
    customer_message: str = "",
    idempotency_key: str | None = None,
) -> Order:
    """Cancel before shipment. Unpaid: the stock locks are released. Paid: the stock is put
    back and everything paid is refunded through the payments service (``allow_refund``
    says whether the actor may refund; without it a paid order is refused with
    ``permission_denied``).

    The cancellation commits before the refund runs (never hold the row across a gateway
    call); if the refund then fails, the order stays cancelled, is flagged
    ``refund_failed_after_cancel`` and the refund error is raised.
    """
    reason = _required(reason)
    with transaction.atomic():
        order = lock_order(order_id)
        if order.state not in CANCELLABLE_BY_STAFF:
            raise OrderNotCancellable(
                "Staff can cancel an order only before it ships; a refused cash-on-delivery "
                "parcel is recorded with the delivery-refused action.",
                details={"state": order.state},
            )
        refundable = _refundable(order)
        if refundable > 0 and not allow_refund:
            raise StaffPermissionDenied(
                "Cancelling a paid order refunds it; that needs the refund permission.",
                details={"permission": REFUND},
            )
        order = lifecycle.cancel_order(
            order_id=order_id,
            actor_type=STAFF,
            actor=actor,
            reason=reason,
            payload={
                key: value
                for key, value in (
                    ("customer_message", customer_message),
                    ("refund_amount", str(refundable) if refundable > 0 else ""),
                )
                if value
            },
        )
    if refundable > 0:
        try:
            issue_refund(
                order_id=order_id,
                amount=refundable,
                lines=None,
                restock=False,  # the cancellation already put every unit back
                reason=reason,
                actor=actor,
                idempotency_key=idempotency_key,
                customer_message=customer_message,
            )
        except DomainError as error:
            lifecycle.flag_order(
                order_id=order_id,
                reason="refund_failed_after_cancel",
                actor_type=STAFF,
                actor=actor,
                payload={"error": error.code, "amount": str(refundable)},
            )
            raise
    cancelled: Order = Order.objects.get(pk=order_id)
    return cancelled


def refund(**request: Any) -> Order:
    """As ``issue_refund_request``; answers the order as it is now."""
    issued = issue_refund_request(**request)
    refunded: Order = Order.objects.get(pk=issued.refund.payment.order_id)
    return refunded


def issue_refund_request(
    *,
    order_id: int,
    amount: Decimal | None,
    lines: Mapping[int, int] | None,
    restock: bool,
    reason: str,
    actor: Any,
    idempotency_key: str | None = None,
    fingerprint: str = "",
    customer_message: str = "",
    payment_reference: str | None = None,
) -> IssuedRefund:
    """Refund an amount, or order lines ({product id: units}, worth their price less their
    share of the order's discounts, unless an amount is given); ``restock`` puts the lines'
    units back (with no lines, a refund of everything left restocks every unit still off the
    shelf). Never more than paid minus
    refunded minus pending: the payments service checks under the order's lock.
    ``idempotency_key`` makes a repeated submission return the first refund (the staff API
    and the admin form always send one); ``fingerprint`` identifies the request's body, so a
    key reused for another request is refused."""
    reason = _required(reason)
    if amount is None and not lines and not payment_reference:
        raise RefundInvalid("Give an amount or lines to refund.")
    return request_refund(
        order_id=order_id,
        amount=amount,
        lines={int(p): int(q) for p, q in lines.items()} if lines else None,
        restock=restock,
        reason=reason,
        actor=actor,
        idempotency_key=idempotency_key,
        fingerprint=fingerprint,
        customer_message=customer_message,
        payment_reference=payment_reference,
    )


def confirm_bank_transfer(
    *, order_id: int, amount: Decimal, reference: str, actor: Any, reason: str = ""
) -> Order:
    """The bank shows the customer's transfer: the order is paid and its stock deducted.

    Only the exact total is accepted (``transfer_amount_mismatch`` otherwise): a partial
    transfer is not a payment; staff wait for the rest or contact the customer.
    """
    reference = (reference or "").strip()
    if not reference:
        raise ReasonRequired("Give the bank transfer's reference.", details={"field": "reference"})
    with transaction.atomic():
        order = lock_order(order_id)
        if order.payment_method != BANK_TRANSFER:
            raise WrongPaymentMethod(details={"payment_method": order.payment_method})
        if order.state == S.CANCELLED:
            # A late transfer for an expired or cancelled order: kept as money without an
            # order to pay for, which staff refund.
            record_unapplied_payment(
                order_id=order_id,
                gateway=BANK_TRANSFER,
                amount=Decimal(amount),
                reference=reference,
                actor=actor,
                reason=reason,
            )
            cancelled: Order = Order.objects.get(pk=order_id)
            return cancelled
        if order.state not in UNPAID_STATES:
            raise refuse(order, S.PAID)
        if Decimal(amount) != order.total:
            raise TransferAmountMismatch(
                details={
                    "expected": {"amount": str(order.total), "currency": order.currency},
                    "received": {"amount": str(amount), "currency": order.currency},
                }
            )
        order = payment.mark_paid(
            order_id=order_id,
            amount=Decimal(amount),
            currency=order.currency,
            actor_type=STAFF,
            actor=actor,
            reason=reason,
            payload={"method": BANK_TRANSFER, "reference": reference},
        )
    return order


def accept_cod_order(*, order_id: int, actor: Any, reason: str = "") -> Order:
    """Accept a cash-on-delivery order: pending_payment → processing, stock deducted."""
    _require_cod(order_id)
    order = payment.accept_cash_on_delivery(order_id=order_id, actor=actor, reason=reason)
    return order


def mark_cash_collected(*, order_id: int, amount: Decimal, actor: Any, reason: str = "") -> Order:
    """The courier brought back the cash (exactly the total): payment status → paid."""
    _require_cod(order_id)
    order = payment.record_cash_collected(
        order_id=order_id, amount=Decimal(amount), actor=actor, reason=reason
    )
    return order


def mark_delivery_refused(*, order_id: int, actor: Any, reason: str) -> Order:
    """The customer refused a COD parcel at the door: cancelled, every unit back on stock."""
    reason = _required(reason)
    with transaction.atomic():
        order = lock_order(order_id)
        if not order.is_cash_on_delivery:
            raise WrongPaymentMethod(details={"payment_method": order.payment_method})
        if order.state not in (S.SHIPPED, S.IN_TRANSIT) or order.payment_status == (
            PaymentStatus.PAID
        ):
            raise refuse(order, S.CANCELLED)
        order = lifecycle.cancel_order(
            order_id=order_id, actor_type=STAFF, actor=actor, reason=reason
        )
    return order


def cancel_needs_refund(order: Order) -> bool:
    """Cancelling this order would refund money (so the caller needs the refund permission);
    an unpaid one — including an accepted COD order whose cash was not collected — would not."""
    return _refundable(order) > 0


def can_refund(order: Order) -> bool:
    """A refund may start now: of the order's own money (``refund_refusal`` allows it and some
    is left), or of money without an order to pay for."""
    if refund_refusal(order) is None and _refundable(order) > 0:
        return True
    return bool(unapplied_payments(order))


def unapplied_money(order: Order) -> list[tuple[Any, Decimal]]:
    """The order's payments that did not pay for it, with what is left to refund of each."""
    return unapplied_payments(order)


def refundable_balance(order: Order) -> Decimal:
    """What can still be refunded of the order's money: paid - refunded - pending refunds."""
    return _refundable(order)


# --- helpers ---------------------------------------------------------------------------------
def _required(reason: str) -> str:
    reason = (reason or "").strip()
    if not reason:
        raise ReasonRequired()
    return reason


def _refundable(order: Order) -> Decimal:
    return order_refundable(order)  # paid - refunded - refunds pending at the gateway


def _require_cod(order_id: int) -> None:
    method = Order.objects.filter(pk=order_id).values_list("payment_method", flat=True).first()
    if method is None:
        raise NotFound("Order not found.", details={"order_id": order_id})
    if method != COD:
        raise WrongPaymentMethod(details={"payment_method": method})
