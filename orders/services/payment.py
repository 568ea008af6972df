"""An order's payment: paid, failed, retried, stock held while the customer pays, and cash on
delivery accepted and collected. Each function owns its transaction (see ``lifecycle``)."""

from collections.abc import Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from inventory import services as inventory
from inventory.errors import InsufficientStock
from inventory.models import InventoryLock
from orders.errors import InvalidTransition, PaymentMismatch
from orders.models import Order
from orders.payment_methods import payment_method_or_none
from orders.services._base import apply_transition, lock_order, order_lines, refuse, save_and_log
from orders.states import ActorType, OrderState, PaymentStatus
from shop.platform_settings import get_setting

S = OrderState


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
        return save_and_log(
            order,
            from_state=from_state,
            kind="paid",
            actor_type=actor_type,
            actor=actor,
            reason=reason,
            payload=event_payload,
        )


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
        return save_and_log(
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
        return save_and_log(
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
        return save_and_log(
            order,
            from_state=order.state,
            kind="stock_held",
            actor_type=actor_type,
            actor=actor,
            payload=payload,
        )


def open_payment_window(*, order: Order, now: datetime | None = None) -> None:
    """The customer starts paying (the order is locked by the caller): once per order, its
    stock locks are extended to ``checkout.payment_window_minutes`` from now, so a slow 3-D
    Secure or USSD payment finds its units still held."""
    if order.metadata.get("payment_window_extended"):
        return
    now = now or timezone.now()
    until = now + timedelta(minutes=get_setting("checkout.payment_window_minutes"))
    inventory.extend(owner=order.number, until=until, now=now)
    order.metadata = {**order.metadata, "payment_window_extended": until.isoformat()}
    Order.objects.filter(pk=order.pk).update(metadata=order.metadata)


def accept_cash_on_delivery(*, order_id: int, actor: Any, reason: str = "") -> Order:
    """Staff accept a COD order: pending_payment → processing, and its stock is deducted."""
    with transaction.atomic():
        order = lock_order(order_id)
        from_state = apply_transition(order, "accept_cash_on_delivery")
        inventory.commit(owner=order.number, lines=order_lines(order), actor=actor)
        order.stock_deducted = True
        return save_and_log(
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
        return save_and_log(
            order,
            from_state=order.state,
            kind="cash_collected",
            actor_type=ActorType.STAFF,
            actor=actor,
            reason=reason,
            payload={"amount": str(amount), "currency": order.currency},
        )
