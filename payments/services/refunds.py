"""issue_refund: the one refund service (staff admin, staff API, automatic refunds).

1. Under the order lock: check what is refundable — paid, minus refunded, minus refunds still
   pending — and write a pending Refund. Concurrent refunds serialise here, so they can never
   add up to more than was paid.
2. Outside any lock: ask the gateway (offline methods: recorded as a manual refund at once).
3. Under the lock again: processed → the order's refund is recorded (with restock); pending →
   the refund webhook finishes it; failed → recorded and the order flagged.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import Sum

from config.errors import DomainError
from orders import services as orders
from orders.models import Order
from orders.services._base import lock_order
from orders.states import ActorType, OrderState, PaymentStatus
from payments.errors import RefundExceedsRefundable, RefundHeldByDispute, RefundNotAllowed
from payments.models import Payment, Refund, RefundStatus
from payments.models import PaymentStatus as AttemptStatus
from payments.providers import get_provider
from payments.redaction import redact
from payments.services.events import complete_refund

logger = logging.getLogger(__name__)

GATEWAY_REFUNDS = ("paystack", "stripe", "flutterwave", "dummy")


def issue_refund(
    *,
    order_id: int,
    amount: Decimal | None,
    lines: Mapping[int, int] | None,
    restock: bool,
    reason: str,
    actor: Any,
    idempotency_key: str | None = None,
) -> Refund:
    """Refund ``amount`` (None: the value of ``lines``, or everything left) of a paid order.

    ``lines`` maps product ids to refunded units; with ``restock`` those units go back on the
    shelf when the refund is processed. Returns the Refund (``processed``, ``pending`` until the
    gateway's webhook, or ``failed``). Gateway errors are raised after the Refund is marked
    failed; refusals (``refund_exceeds_refundable``, ``refund_held_dispute_open``…) change nothing.
    A repeated ``idempotency_key`` (e.g. a double-clicked staff form) returns the first Refund.
    """
    refund, created = _reserve_refund(
        order_id=order_id,
        amount=amount,
        lines=lines,
        restock=restock,
        reason=reason,
        actor=actor,
        idempotency_key=idempotency_key,
    )
    if not created or refund.status == RefundStatus.PROCESSED:
        return refund  # a repeated key (the first call owns the gateway call), or manual
    payment = refund.payment
    try:
        result = get_provider(payment.gateway).refund(
            payment.reference,
            refund.amount,
            reason or "Refund",
            currency=refund.currency,
            gateway_ids=payment.gateway_ids,
            idempotency_key=str(refund.idempotency_key),
        )
    except DomainError as exc:
        _settle(refund.pk, status=RefundStatus.FAILED, failure=f"{exc.code}: {exc.message}")
        raise
    if result.status == "failed":
        _settle(
            refund.pk, status=RefundStatus.FAILED, failure=result.gateway_status, raw=result.raw
        )
    elif result.status in ("succeeded", "manual"):
        _settle(
            refund.pk,
            status=RefundStatus.PROCESSED,
            gateway_refund_id=result.gateway_refund_id,
            raw=result.raw,
        )
    else:
        _settle(
            refund.pk,
            status=RefundStatus.PENDING,
            gateway_refund_id=result.gateway_refund_id,
            raw=result.raw,
        )
    return Refund.objects.get(pk=refund.pk)


def refundable_amount(order: Order) -> Decimal:
    pending = Refund.objects.filter(payment__order=order, status=RefundStatus.PENDING).aggregate(
        s=Sum("amount")
    )["s"] or Decimal("0")
    return order.total - order.amount_refunded - pending


def _reserve_refund(
    *,
    order_id: int,
    amount: Decimal | None,
    lines: Mapping[int, int] | None,
    restock: bool,
    reason: str,
    actor: Any,
    idempotency_key: str | None,
) -> tuple[Refund, bool]:
    with transaction.atomic():
        order = lock_order(order_id)
        earlier = _earlier_refund(idempotency_key, order)
        if earlier is not None:
            return earlier, False
        if order.state == OrderState.DISPUTED:
            raise RefundHeldByDispute(details={"order_id": order.pk})
        if order.payment_status not in (PaymentStatus.PAID, PaymentStatus.PARTIALLY_REFUNDED):
            raise RefundNotAllowed(
                details={"order_id": order.pk, "payment_status": order.payment_status}
            )
        item_units = _items_for_lines(order, lines or {})
        if amount is None:
            amount = (
                sum((unit_price * qty for _, qty, unit_price in item_units.values()), Decimal("0"))
                if item_units
                else refundable_amount(order)
            )
        amount = Decimal(amount)
        refundable = refundable_amount(order)
        if amount <= 0 or amount > refundable:
            raise RefundExceedsRefundable(
                details={"amount": str(amount), "refundable": str(refundable)}
            )
        payment = _paid_payment(order)
        manual = payment is None or payment.gateway not in GATEWAY_REFUNDS
        if payment is None:
            # Offline methods (bank transfer, COD) have no gateway attempt: one manual record.
            payment = _offline_payment(order)
        try:
            with transaction.atomic():  # a savepoint: the key may be taken meanwhile
                refund = Refund.objects.create(
                    payment=payment,
                    amount=amount,
                    currency=order.currency,
                    reason=reason[:300],
                    manual=manual,
                    requested_by=actor if getattr(actor, "pk", None) else None,
                    restock_lines=(
                        {str(i): q for i, (_, q, _) in item_units.items()} if restock else {}
                    ),
                    idempotency_key=idempotency_key or uuid.uuid4().hex,
                )
        except IntegrityError:
            # Only this order is locked, so a refund of another order may have taken the same
            # key since the check above; the unique constraint waited for it to commit.
            earlier = _earlier_refund(idempotency_key, order)
            if earlier is None:
                raise
            return earlier, False
        if manual:
            complete_refund(order=order, refund=refund, payload={"manual": True})
    return refund, True


def _earlier_refund(idempotency_key: str | None, order: Order) -> Refund | None:
    """The refund already made with this key, if it is this order's; refused if another's."""
    if not idempotency_key:
        return None
    earlier = (
        Refund.objects.filter(idempotency_key=idempotency_key).select_related("payment").first()
    )
    if earlier is not None and earlier.payment.order_id != order.pk:
        raise RefundNotAllowed(
            "This idempotency key was used for another order's refund.",
            details={"idempotency_key": idempotency_key},
        )
    return earlier


def _items_for_lines(order: Order, lines: Mapping[int, int]) -> dict[int, tuple[int, int, Decimal]]:
    """{order item id: (product id, units, unit price)} for {product id: units}."""
    if not lines:
        return {}
    items = {item.product_id: item for item in order.items.filter(product_id__in=list(lines))}
    missing = sorted(int(p) for p in lines if int(p) not in items)
    if missing:
        raise RefundNotAllowed(
            "Some products are not in this order.", details={"product_ids": missing}
        )
    return {items[int(p)].pk: (int(p), int(q), items[int(p)].unit_price) for p, q in lines.items()}


def _paid_payment(order: Order) -> Payment | None:
    return order.payments.filter(status=AttemptStatus.SUCCEEDED).order_by("-attempt").first()


def _offline_payment(order: Order) -> Payment:
    payment, _ = Payment.objects.get_or_create(
        order=order,
        gateway=order.payment_method,
        status=AttemptStatus.SUCCEEDED,
        defaults={
            "reference": f"{order.number}-offline",
            "attempt": (order.payments.count() or 0) + 1,
            "amount": order.total,
            "currency": order.currency,
        },
    )
    return payment


def _settle(
    refund_id: int,
    *,
    status: str,
    failure: str = "",
    gateway_refund_id: str | None = None,
    raw: Any = None,
) -> None:
    with transaction.atomic():
        refund = Refund.objects.select_related("payment").get(pk=refund_id)
        order = lock_order(refund.payment.order_id)
        refund = Refund.objects.select_for_update().select_related("payment").get(pk=refund_id)
        if gateway_refund_id and not refund.gateway_refund_id:
            refund.gateway_refund_id = gateway_refund_id
        if raw is not None:
            refund.raw_responses = [*refund.raw_responses, redact(refund.payment.gateway, raw)]
        if refund.status != RefundStatus.PENDING or status == RefundStatus.PENDING:
            refund.save()  # a webhook may have settled it while we waited for the answer
            return
        if status == RefundStatus.PROCESSED:
            refund.save()
            complete_refund(order=order, refund=refund, payload={"gateway": refund.payment.gateway})
            return
        refund.status = RefundStatus.FAILED
        refund.failure_reason = failure[:300]
        refund.save()
        orders.flag_order(
            order_id=order.pk,
            reason="refund_failed",
            actor_type=ActorType.SYSTEM,
            payload={"refund_id": refund.pk, "amount": str(refund.amount)},
        )
