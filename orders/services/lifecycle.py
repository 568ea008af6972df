"""Every change to a placed order: one function per operation.

Each function: opens a transaction, locks the order row, asks the state machine, changes
stock through ``inventory.services`` when the operation moves stock, saves, and writes one
``OrderEvent`` — all in that one transaction. Arguments are keyword-only; ``actor_type`` is
one of ``orders.states.ActorType`` and ``actor`` the user (staff or customer) when there is one.
Payment outcomes are in ``payment``, refunds in ``refunds``.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from inventory import services as inventory
from orders.errors import OrderNotCancellable, RefundPending
from orders.models import Order
from orders.services._base import (
    apply_transition,
    close_payment_pages_after_commit,
    lock_order,
    refuse,
    save_and_log,
    transition_and_log,
)
from orders.services.restock import restock_everything
from orders.states import UNPAID_STATES, ActorType, OrderState

S = OrderState


# --- cancellation ----------------------------------------------------------------------------
def cancel_order(
    *,
    order_id: int,
    actor_type: str,
    actor: Any = None,
    reason: str = "",
    payload: Mapping[str, Any] | None = None,
) -> Order:
    """Cancel, choosing the edge by state:

    - unpaid (pending_payment, payment_failed): locks released — customers may do only this;
    - paid, processing, ready_for_shipment (staff): deducted stock restored; the money goes
      back through a refund, booked later with ``refunds.book_refund``;
    - shipped / in_transit, cash on delivery only (delivery refused): stock restored.
    """
    with transaction.atomic():
        order = lock_order(order_id)
        if order.state in UNPAID_STATES:
            from_state = apply_transition(order, "cancel_unpaid")
            released = inventory.release(owner=order.number)
            stock_payload: dict[str, Any] = {"locks_released": released}
            close_payment_pages_after_commit(order)
        elif actor_type == ActorType.CUSTOMER:
            raise OrderNotCancellable(details={"state": order.state})
        elif order.state in (S.PAID, S.PROCESSING, S.READY_FOR_SHIPMENT):
            from_state = apply_transition(order, "cancel_paid")
            stock_payload = {"restocked": restock_everything(order, actor=actor, reason=reason)}
        elif order.state in (S.SHIPPED, S.IN_TRANSIT):
            from_state = apply_transition(order, "cancel_refused_delivery")
            stock_payload = {"restocked": restock_everything(order, actor=actor, reason=reason)}
        else:
            raise refuse(order, S.CANCELLED)
        return save_and_log(
            order,
            from_state=from_state,
            kind="cancelled",
            actor_type=actor_type,
            actor=actor,
            reason=reason,
            payload={**stock_payload, **(payload or {})},
        )


def expire_order(*, order_id: int, now: datetime | None = None) -> Order | None:
    """Cancel an unpaid order past its ``expires_at`` (system). Returns None when the order is
    no longer due (paid meanwhile, already cancelled, or not expired): safe to run twice."""
    now = now or timezone.now()
    with transaction.atomic():
        order = lock_order(order_id)
        if order.state not in UNPAID_STATES or order.expires_at is None or order.expires_at > now:
            return None
        from_state = apply_transition(order, "cancel_unpaid")
        released = inventory.release(owner=order.number)
        close_payment_pages_after_commit(order)
        return save_and_log(
            order,
            from_state=from_state,
            kind="expired",
            actor_type=ActorType.SYSTEM,
            actor=None,
            payload={"locks_released": released},
        )


def expire_overdue_orders(
    *, now: datetime | None = None, batch_size: int = 200, max_batches: int = 10
) -> int:
    """Expire overdue unpaid orders, one short transaction each, at most
    ``batch_size * max_batches`` per call (the next call picks up the rest).

    Safe to run twice at once: ``expire_order`` re-checks each order under its row lock, so of
    two runners (or a runner and a payment) exactly one changes it; the other's call is a no-op.
    """
    now = now or timezone.now()
    due = Order.objects.filter(state__in=UNPAID_STATES, expires_at__lte=now).order_by(
        "expires_at", "pk"
    )
    count = 0
    for _ in range(max_batches):
        order_ids = list(due.values_list("pk", flat=True)[:batch_size])
        for order_id in order_ids:
            if expire_order(order_id=order_id, now=now) is not None:
                count += 1
        if len(order_ids) < batch_size:
            break
    return count


# --- fulfilment ------------------------------------------------------------------------------
# Steps towards sending the goods: refused while everything paid is on its way back.
_PREPARING_STEPS = ("start_processing", "mark_ready_for_shipment", "mark_shipped")


def _refuse_if_fully_refunding(order: Order) -> None:
    if order.refund_pending > 0 and order.amount_refunded + order.refund_pending >= order.total:
        raise RefundPending(
            details={"refund_pending": str(order.refund_pending), "total": str(order.total)}
        )


def _fulfilment_step(method_name: str, kind: str):
    def step(
        *, order_id: int, actor: Any, actor_type: str = ActorType.STAFF, reason: str = ""
    ) -> Order:
        with transaction.atomic():
            order = lock_order(order_id)
            if method_name in _PREPARING_STEPS:
                _refuse_if_fully_refunding(order)
            return transition_and_log(
                order, method_name, kind=kind, actor_type=actor_type, actor=actor, reason=reason
            )

    step.__name__ = method_name
    step.__doc__ = f"Staff fulfilment step ({kind})."
    return step


start_processing = _fulfilment_step("start_processing", "processing_started")
mark_ready_for_shipment = _fulfilment_step("mark_ready_for_shipment", "ready_for_shipment")
mark_in_transit = _fulfilment_step("mark_in_transit", "in_transit")
mark_delivered = _fulfilment_step("mark_delivered", "delivered")
archive_order = _fulfilment_step("archive", "archived")


def mark_shipped(
    *,
    order_id: int,
    tracking_number: str,
    carrier: str,
    actor: Any,
    actor_type: str = ActorType.STAFF,
    reason: str = "",
) -> Order:
    """ready_for_shipment → shipped, recording the parcel's tracking number and carrier."""
    with transaction.atomic():
        order = lock_order(order_id)
        _refuse_if_fully_refunding(order)
        return transition_and_log(
            order,
            "mark_shipped",
            kind="shipped",
            actor_type=actor_type,
            actor=actor,
            reason=reason,
            payload={"tracking_number": tracking_number, "carrier": carrier},
            tracking_number=tracking_number,
            carrier=carrier,
        )


# --- refunds and disputes --------------------------------------------------------------------
def open_dispute(
    *,
    order_id: int,
    actor_type: str = ActorType.GATEWAY,
    actor: Any = None,
    reason: str = "",
    payload: Mapping[str, Any] | None = None,
) -> Order:
    """A chargeback was opened: → disputed, remembering the state to return to if won."""
    with transaction.atomic():
        order = lock_order(order_id)
        return transition_and_log(
            order,
            "open_dispute",
            kind="dispute_opened",
            actor_type=actor_type,
            actor=actor,
            reason=reason,
            payload=payload,
        )


def resolve_dispute(
    *,
    order_id: int,
    won: bool,
    actor_type: str = ActorType.GATEWAY,
    actor: Any = None,
    reason: str = "",
    payload: Mapping[str, Any] | None = None,
) -> Order:
    """Won: back to the state before the dispute. Lost: → refunded (the money is gone)."""
    with transaction.atomic():
        order = lock_order(order_id)
        return transition_and_log(
            order,
            "win_dispute" if won else "lose_dispute",
            kind="dispute_won" if won else "dispute_lost",
            actor_type=actor_type,
            actor=actor,
            reason=reason,
            payload=payload,
        )


def flag_order(
    *,
    order_id: int,
    reason: str,
    actor_type: str = ActorType.SYSTEM,
    actor: Any = None,
    payload: Mapping[str, Any] | None = None,
) -> Order:
    """Mark an order for staff attention (a payment mismatch, a late payment…)."""
    with transaction.atomic():
        order = lock_order(order_id)
        order.needs_attention = True
        order.attention_reason = reason[:200]
        return save_and_log(
            order,
            from_state=order.state,
            kind="flagged",
            actor_type=actor_type,
            actor=actor,
            reason=reason,
            payload=payload,
        )
