"""Every change to a placed order: one function per operation.

Each function: opens a transaction, locks the order row, asks the state machine, changes
stock through ``inventory.services`` when the operation moves stock, saves, and writes one
``OrderEvent`` — all in that one transaction. Arguments are keyword-only; ``actor_type`` is
one of ``orders.states.ActorType`` and ``actor`` the user (staff or customer) when there is one.
"""

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from inventory import services as inventory
from inventory.errors import InsufficientStock
from inventory.models import InventoryLock, MovementKind
from orders.errors import (
    InvalidTransition,
    OrderNotCancellable,
    PaymentMismatch,
    RefundInvalid,
    RefundPending,
)
from orders.events import record_event
from orders.models import Order, OrderItem
from orders.payment_methods import payment_method_or_none
from orders.services._base import (
    apply_transition,
    lock_order,
    order_lines,
    refuse,
    transition_and_log,
)
from orders.states import UNPAID_STATES, ActorType, OrderState, PaymentStatus

S = OrderState


# --- payment ---------------------------------------------------------------------------------
def mark_paid(
    *,
    order_id: int,
    amount: Decimal,
    currency: str,
    actor_type: str = ActorType.GATEWAY,
    actor: Any = None,
    reason: str = "",
    payload: Mapping[str, Any] | None = None,
) -> Order:
    """The money arrived: pending_payment/payment_failed → paid, and the stock is deducted.

    When the order's locks expired (a late payment) the units are taken only if still free;
    otherwise the order is paid but flagged ``needs_attention`` (never oversold) and the
    event's payload lists the short products for the refund-or-restock decision.
    A wrong amount or currency raises ``PaymentMismatch`` and changes nothing.
    """
    with transaction.atomic():
        order = lock_order(order_id)
        if Decimal(amount) != order.total or currency != order.currency:
            raise PaymentMismatch(
                details={
                    "expected": {"amount": str(order.total), "currency": order.currency},
                    "received": {"amount": str(amount), "currency": currency},
                }
            )
        from_state = apply_transition(order, "mark_paid")
        event_payload: dict[str, Any] = {"amount": str(amount), "currency": currency}
        try:
            inventory.commit(owner=order.number, lines=order_lines(order), actor=actor)
        except InsufficientStock as short:
            inventory.release(owner=order.number)
            order.needs_attention = True
            order.attention_reason = "out_of_stock_after_payment"
            event_payload["stock"] = "short"
            event_payload["short_products"] = short.details["products"]
        else:
            order.stock_deducted = True
            event_payload["stock"] = "deducted"
        event_payload.update(payload or {})
        order.save()
        record_event(
            order=order,
            kind="paid",
            from_state=from_state,
            actor_type=actor_type,
            actor=actor,
            reason=reason,
            payload=event_payload,
        )
    return order


def mark_payment_failed(
    *,
    order_id: int,
    actor_type: str = ActorType.GATEWAY,
    actor: Any = None,
    reason: str = "",
    payload: Mapping[str, Any] | None = None,
) -> Order:
    """The payment attempt failed: pending_payment → payment_failed, and the stock is released."""
    with transaction.atomic():
        order = lock_order(order_id)
        from_state = apply_transition(order, "mark_payment_failed")
        released = inventory.release(owner=order.number)
        return _save_and_log(
            order,
            from_state=from_state,
            kind="payment_failed",
            actor_type=actor_type,
            actor=actor,
            reason=reason,
            payload={"locks_released": released, **(payload or {})},
        )


def retry_payment(
    *,
    order_id: int,
    actor_type: str = ActorType.CUSTOMER,
    actor: Any = None,
    reason: str = "",
    now: datetime | None = None,
) -> Order:
    """payment_failed → pending_payment, holding the stock again (``insufficient_stock`` if it
    is gone, and then nothing changes)."""
    now = now or timezone.now()
    with transaction.atomic():
        order = lock_order(order_id)
        from_state = apply_transition(order, "retry_payment")
        # The order keeps its method even if it is no longer offered to new checkouts.
        method = payment_method_or_none(order.payment_method)
        inventory.release(owner=order.number)
        inventory.reserve(
            lines=order_lines(order),
            owner=order.number,
            expires_at=method.lock_expires_at(now, order.expires_at)
            if method
            else order.expires_at,
            now=now,
        )
        return _save_and_log(
            order,
            from_state=from_state,
            kind="payment_retried",
            actor_type=actor_type,
            actor=actor,
            reason=reason,
        )


def hold_stock_until(
    *,
    order_id: int,
    until: datetime,
    actor_type: str = ActorType.CUSTOMER,
    actor: Any = None,
    now: datetime | None = None,
) -> Order:
    """Make sure an unpaid order holds its stock until at least ``until`` (a customer starts a
    slow payment: 3-D Secure, USSD). Live locks are extended; expired or swept ones are taken
    again if the units are still free, else ``insufficient_stock`` and nothing changes.
    Locks that never expire are left alone."""
    now = now or timezone.now()
    with transaction.atomic():
        order = lock_order(order_id)
        if order.state != S.PENDING_PAYMENT:
            raise refuse(order, S.PENDING_PAYMENT)
        lines = order_lines(order)
        held = dict(
            InventoryLock.objects.filter(owner=order.number)
            .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
            .values_list("product_id", "quantity")
        )
        if held == lines:
            extended = inventory.extend(owner=order.number, until=until, now=now)
            payload: dict[str, Any] = {"extended": extended, "until": until.isoformat()}
        else:
            inventory.release(owner=order.number)
            inventory.reserve(lines=lines, owner=order.number, expires_at=until, now=now)
            payload = {"reserved_again": True, "until": until.isoformat()}
        return _save_and_log(
            order,
            from_state=order.state,
            kind="stock_held",
            actor_type=actor_type,
            actor=actor,
            payload=payload,
        )


def accept_cash_on_delivery(*, order_id: int, actor: Any, reason: str = "") -> Order:
    """Staff accept a COD order: pending_payment → processing, and its stock is deducted."""
    with transaction.atomic():
        order = lock_order(order_id)
        from_state = apply_transition(order, "accept_cash_on_delivery")
        inventory.commit(owner=order.number, lines=order_lines(order), actor=actor)
        order.stock_deducted = True
        return _save_and_log(
            order,
            from_state=from_state,
            kind="cod_accepted",
            actor_type=ActorType.STAFF,
            actor=actor,
            reason=reason,
        )


def record_cash_collected(*, order_id: int, amount: Decimal, actor: Any, reason: str = "") -> Order:
    """The courier collected the cash of a COD order: payment_status → paid (state unchanged)."""
    with transaction.atomic():
        order = lock_order(order_id)
        if (
            not order.is_cash_on_delivery
            or order.payment_status != PaymentStatus.PENDING
            or order.state
            not in (S.PROCESSING, S.READY_FOR_SHIPMENT, S.SHIPPED, S.IN_TRANSIT, S.DELIVERED)
        ):
            raise InvalidTransition(
                "Cash can be recorded only for an accepted, unpaid cash-on-delivery order.",
                details={"state": order.state, "payment_status": order.payment_status},
            )
        if Decimal(amount) != order.total:
            raise PaymentMismatch(details={"expected": str(order.total), "received": str(amount)})
        order.payment_status = PaymentStatus.PAID
        order.paid_at = timezone.now()
        return _save_and_log(
            order,
            from_state=order.state,
            kind="cash_collected",
            actor_type=ActorType.STAFF,
            actor=actor,
            reason=reason,
            payload={"amount": str(amount), "currency": order.currency},
        )


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
            _close_payment_pages_after_commit(order)
        elif actor_type == ActorType.CUSTOMER:
            raise OrderNotCancellable(details={"state": order.state})
        elif order.state in (S.PAID, S.PROCESSING, S.READY_FOR_SHIPMENT):
            from_state = apply_transition(order, "cancel_paid")
            stock_payload = {"restocked": _restock_everything(order, actor=actor, reason=reason)}
        elif order.state in (S.SHIPPED, S.IN_TRANSIT):
            from_state = apply_transition(order, "cancel_refused_delivery")
            stock_payload = {"restocked": _restock_everything(order, actor=actor, reason=reason)}
        else:
            raise refuse(order, S.CANCELLED)
        return _save_and_log(
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
        _close_payment_pages_after_commit(order)
        return _save_and_log(
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
        return _save_and_log(
            order,
            from_state=order.state,
            kind="flagged",
            actor_type=actor_type,
            actor=actor,
            reason=reason,
            payload=payload,
        )


# --- helpers ---------------------------------------------------------------------------------
def _close_payment_pages_after_commit(order: Order) -> None:
    """An unpaid order that ends must not stay payable at the gateway (where it allows it)."""
    method = payment_method_or_none(order.payment_method)
    if method is not None and method.close_attempts_after_commit is not None:
        transaction.on_commit(partial(method.close_attempts_after_commit, order.pk))


def _save_and_log(
    order: Order,
    *,
    from_state: str,
    kind: str,
    actor_type: str,
    actor: Any,
    reason: str = "",
    payload: Mapping[str, Any] | None = None,
) -> Order:
    order.save()
    record_event(
        order=order,
        kind=kind,
        from_state=from_state,
        actor_type=actor_type,
        actor=actor,
        reason=reason,
        payload=dict(payload or {}),
    )
    return order


def _restock_everything(order: Order, *, actor: Any, reason: str) -> list[dict[str, int]]:
    """A cancellation puts back every unit not restocked yet."""
    items = list(order.items.filter(product__isnull=False))
    return _restock(
        order,
        {item.pk: item.quantity - item.quantity_restocked for item in items},
        kind=MovementKind.RESTOCK_CANCEL,
        actor=actor,
        reason=reason,
    )


def _restock(
    order: Order, quantities: Mapping[int, int], *, kind: str, actor: Any = None, reason: str = ""
) -> list[dict[str, int]]:
    """Put units of the order's items back on stock (ledger ``kind``: a cancel or a refund);
    returns what was restocked."""
    wanted = {int(item_id): int(qty) for item_id, qty in quantities.items() if int(qty) != 0}
    if not wanted:
        return []
    if not order.stock_deducted:
        raise RefundInvalid(
            "Nothing to restock: this order's stock was never deducted.",
            details={"restock": {str(k): v for k, v in wanted.items()}},
        )
    items = {item.pk: item for item in order.items.filter(pk__in=list(wanted))}
    problems = [
        {"item_id": item_id, "requested": qty, "restockable": _restockable(items.get(item_id))}
        for item_id, qty in wanted.items()
        if qty < 0 or item_id not in items or qty > _restockable(items[item_id])
    ]
    if problems:
        raise RefundInvalid(
            "Some items cannot be restocked that much.", details={"items": problems}
        )
    inventory.restore(
        lines=[(items[i].product_id, qty) for i, qty in wanted.items()],
        kind=kind,
        order_number=order.number,
        actor=actor,
        reason=reason,
    )
    for item_id, qty in wanted.items():
        items[item_id].quantity_restocked += qty
    OrderItem.objects.bulk_update(list(items.values()), ["quantity_restocked"])
    return [
        {"item_id": i, "product_id": items[i].product_id, "quantity": q} for i, q in wanted.items()
    ]


def _restockable(item: OrderItem | None) -> int:
    if item is None or item.product_id is None:
        return 0
    return item.quantity - item.quantity_restocked
