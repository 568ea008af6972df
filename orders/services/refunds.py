"""Refunds as the order sees them: when one may start, the money held while it is pending, and
the booking once the money is gone.

The payments service decides nothing about states: under the order lock it asks
``refund_refusal`` before any gateway call, holds the amount with ``hold_refund`` (so two
refunds can never together exceed what was paid, even while both are pending), and once the
gateway confirms calls ``book_refund``, which books in any state: money that left is always
recorded. The rule, state by state (docs/money-safety.md has the table):

- paid, delivered, partially refunded: refund any part of what is left;
- processing, ready for shipment: cancel the order instead (which refunds everything);
- shipped, in transit: record the delivery (or the return) first;
- cancelled (paid, then cancelled) and archived (a late return): refund what is left, the
  state stays and only the payment status changes;
- disputed: held until the dispute resolves; unpaid or refunded: nothing to refund.
"""

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db import transaction

from inventory.models import MovementKind
from orders.errors import RefundInvalid
from orders.events import record_event
from orders.models import Order
from orders.services._base import apply_transition, lock_order, refuse, save_and_log
from orders.services.restock import restock_units
from orders.states import ActorType, OrderState, PaymentStatus
from shop.pricing import prorated_refund

S = OrderState
PAID_STATUSES = (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED)
# States a refund may start from; every other state is refused with the reason below.
REFUNDABLE_STATES = (S.PAID, S.DELIVERED, S.PARTIALLY_REFUNDED, S.CANCELLED, S.ARCHIVED)
_REFUSALS: dict[str, tuple[str, str]] = {
    S.PROCESSING: (
        "cancel_instead",
        "The order is being prepared: cancel it to refund everything (its units go back on "
        "stock), or refund after delivery.",
    ),
    S.READY_FOR_SHIPMENT: (
        "cancel_instead",
        "The order is ready to ship: cancel it to refund everything (its units go back on "
        "stock), or refund after delivery.",
    ),
    S.SHIPPED: ("in_delivery", "The parcel is on its way: record its delivery or return first."),
    S.IN_TRANSIT: (
        "in_delivery",
        "The parcel is on its way: record its delivery or return first.",
    ),
    S.DISPUTED: ("dispute_open", "Refunds are held while a dispute on this order is open."),
}


def refund_refusal(order: Order) -> tuple[str, str] | None:
    """Why a refund of the order's own money cannot start now, as (reason, message); None
    when it can. Money without an order to pay for (a payment that is not applied) is
    refundable whatever the order's state, and is not asked about here."""
    if order.state in _REFUSALS:
        return _REFUSALS[order.state]
    if order.payment_status not in PAID_STATUSES or order.state not in REFUNDABLE_STATES:
        return ("nothing_paid", "Nothing paid on this order is left to refund.")
    return None


def refundable_balance(order: Order) -> Decimal:
    """What is left to refund of the order's money: paid, minus refunded, minus pending."""
    if order.payment_status not in PAID_STATUSES:
        return Decimal("0.00")
    return order.total - order.amount_refunded - order.refund_pending


def refund_value_of_units(order: Order, units: Mapping[int, int]) -> Decimal:
    """What refunding ``units`` (order item id -> units) is worth: their price less their share
    of the order's reductions (``shop.pricing.prorated_refund``)."""
    lines = {item.pk: (item.line_total, item.quantity) for item in order.items.all()}
    return prorated_refund(lines, units, order.discount)


def hold_refund(*, order: Order, amount: Decimal) -> None:
    """Hold ``amount`` of a locked order for a refund about to be sent (the caller checked it
    fits ``refundable_balance``); ``book_refund`` or ``release_refund`` ends the hold."""
    order.refund_pending += amount
    order.save(update_fields=["refund_pending", "updated_at"])


def release_refund(
    *, order_id: int, amount: Decimal, actor_type: str, payload: Mapping[str, Any]
) -> Order:
    """A held refund failed at the gateway: the money is refundable again, staff are told."""
    with transaction.atomic():
        order = lock_order(order_id)
        order.refund_pending = max(order.refund_pending - Decimal(amount), Decimal("0.00"))
        order.needs_attention = True
        order.attention_reason = "refund_failed"
        return save_and_log(
            order,
            from_state=order.state,
            kind="refund_failed",
            actor_type=actor_type,
            actor=None,
            reason="refund_failed",
            payload={"amount": str(amount), **payload},
        )


def refund_order(
    *,
    order_id: int,
    amount: Decimal,
    restock: Mapping[int, int] | None = None,
    actor_type: str = ActorType.STAFF,
    actor: Any = None,
    reason: str = "",
    payload: Mapping[str, Any] | None = None,
) -> Order:
    """The state machine's refund: ``amount`` of a paid order was returned. The order moves
    to ``refunded`` when everything paid is back, else ``partially_refunded``; a cancelled
    order keeps its state and only its payment status changes; any other state is refused
    (``invalid_transition``). ``restock`` maps OrderItem ids to units put back on the shelf.
    Money moved by the payments service is booked with ``book_refund`` instead."""
    with transaction.atomic():
        order = lock_order(order_id)
        full = Decimal(amount) == order.total - order.amount_refunded
        if order.payment_status not in PAID_STATUSES:
            raise refuse(order, S.REFUNDED if full else S.PARTIALLY_REFUNDED)
        return _record(
            order,
            Decimal(amount),
            restock=restock,
            record_only=order.state == S.CANCELLED,
            event={"actor_type": actor_type, "actor": actor, "reason": reason},
            payload=payload,
        )


def book_refund(
    *,
    order_id: int,
    amount: Decimal,
    held: bool,
    restock: Mapping[int, int] | None = None,
    actor_type: str = ActorType.STAFF,
    actor: Any = None,
    reason: str = "",
    payload: Mapping[str, Any] | None = None,
) -> Order:
    """Book ``amount`` of the order's money as returned: the gateway confirmed it, or it was
    paid back by hand. ``held``: the amount was held by ``hold_refund`` (a refund made in the
    gateway's dashboard was not). ``restock`` maps OrderItem ids to units put back.

    It books in any state: money that left is always recorded. Paid, delivered and partially
    refunded orders move as ``refund_order`` moves them; in any other state (the order moved
    on while the refund was pending, or it is cancelled or archived) the state stays and only
    the payment status changes (``refund_recorded``). The only refusal is an amount beyond
    what was paid (``refund_invalid``), which no gateway allows.
    """
    amount = Decimal(amount)
    with transaction.atomic():
        order = lock_order(order_id)
        if held:
            order.refund_pending = max(order.refund_pending - amount, Decimal("0.00"))
        return _record(
            order,
            amount,
            restock=restock,
            record_only=order.state not in (S.PAID, S.DELIVERED, S.PARTIALLY_REFUNDED),
            event={"actor_type": actor_type, "actor": actor, "reason": reason},
            payload=payload,
        )


def _record(
    order: Order,
    amount: Decimal,
    *,
    restock: Mapping[int, int] | None,
    record_only: bool,
    event: Mapping[str, Any],
    payload: Mapping[str, Any] | None,
) -> Order:
    remaining = order.total - order.amount_refunded
    if amount <= 0 or amount > remaining:
        raise RefundInvalid(details={"amount": str(amount), "refundable": str(remaining)})
    full = amount == remaining
    restocked = restock_units(
        order,
        restock or {},
        kind=MovementKind.RESTOCK_REFUND,
        actor=event.get("actor"),
        reason=event.get("reason", ""),
    )
    order.amount_refunded += amount
    if record_only:
        from_state = order.state
        order.payment_status = PaymentStatus.REFUNDED if full else PaymentStatus.PARTIALLY_REFUNDED
        kind = "refund_recorded"
    else:
        from_state = apply_transition(order, "refund_fully" if full else "refund_partially")
        kind = "refunded" if full else "partially_refunded"
    return save_and_log(
        order,
        from_state=from_state,
        kind=kind,
        **event,
        payload={"amount": str(amount), "restocked": restocked, **(payload or {})},
    )


def record_unapplied_refund(
    *,
    order_id: int,
    amount: Decimal,
    reference: str,
    actor_type: str,
    actor: Any = None,
    reason: str = "",
    payload: Mapping[str, Any] | None = None,
) -> Order:
    """A refund of money that did not pay the order (paid after cancellation, paid twice, a
    late bank transfer) went out: the order's timeline says so; its state and totals stay."""
    with transaction.atomic():
        order = lock_order(order_id)
        record_event(
            order=order,
            kind="unapplied_payment_refunded",
            from_state=order.state,
            actor_type=actor_type,
            actor=actor,
            reason=reason,
            payload={"amount": str(amount), "reference": reference, **(payload or {})},
        )
    return order
