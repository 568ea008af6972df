"""apply_gateway_event: the one code path from "the gateway says X" to our records.

Used by webhook processing, by the customer's verify endpoint and by reconciliation. Each call
is one transaction that locks the order row first, then the payment row, so two deliveries of
the same news serialise and the second finds the work done. Outcomes are short strings stored
on the WebhookEvent (see docs/payments.md, "Flows", for the table).
"""

from __future__ import annotations

import logging
from dataclasses import replace
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import transaction
from django.utils import timezone

from observability.metrics import DISPUTES_OPENED, PAYMENTS, bounded_label
from orders import services as orders
from orders.models import Order
from orders.services import lock_order
from orders.states import DISPUTABLE_STATES, UNPAID_STATES, ActorType, OrderState
from payments.models import (
    Dispute,
    DisputeStatus,
    Payment,
    PaymentStatus,
    Refund,
    RefundOrigin,
    RefundStatus,
)
from payments.providers import GatewayEvent, VerifyResult
from payments.redaction import redact
from payments.services.refund_settlement import complete_refund, fail_refund
from shop.platform_settings import get_setting

logger = logging.getLogger(__name__)

OUT_OF_STOCK = "out_of_stock_after_payment"


class Deferred(Exception):
    """The event cannot be applied yet (a refund before its charge's success): try later."""


def find_payment(event: GatewayEvent) -> Payment | None:
    if event.reference:
        payment = Payment.objects.filter(reference=event.reference).first()
        if payment is not None:
            return payment
    for key in ("payment_intent_id", "checkout_session_id", "transaction_id"):
        value = event.gateway_ids.get(key)
        if value:
            payment = (
                Payment.objects.filter(gateway=event.gateway, **{f"gateway_ids__{key}": value})
                .order_by("-attempt")
                .first()
            )
            if payment is not None:
                return payment
    return None


def event_from_verify(gateway: str, result: VerifyResult) -> GatewayEvent | None:
    """What a verify answer means as an event; None when there is nothing to apply yet."""
    kind = {
        "succeeded": "charge_succeeded",
        "failed": "charge_failed",
        "abandoned": "charge_failed",
    }
    if result.status not in kind:
        return None  # pending: wait; reversed: never grants value, reconciliation reports it
    return GatewayEvent(
        gateway=gateway,
        kind=kind[result.status],  # type: ignore[arg-type]
        event_type=f"verify.{result.status}",
        event_key=f"verify:{result.reference}:{result.status}",
        reference=result.reference,
        amount=result.amount,
        currency=result.currency,
        occurred_at=result.paid_at,
        gateway_ids=dict(result.gateway_ids),
        failure_reason=result.failure_reason
        or (result.gateway_status if result.status == "abandoned" else None),
        raw=result.raw,
    )


def apply_gateway_event(*, event: GatewayEvent, payment: Payment | None = None) -> str:
    """Apply one trusted event; returns the outcome. Raises ``Deferred`` to be retried later."""
    handler = _HANDLERS.get(event.kind)
    if handler is None:
        logger.info("Ignoring %s event %s (%s)", event.gateway, event.event_type, event.event_key)
        return "ignored"
    payment = payment or find_payment(event)
    if payment is None:
        logger.warning(
            "Gateway event %s for an unknown payment: %s", event.event_key, event.reference
        )
        return "unknown_reference"
    after_commit: list[Any] = []
    with transaction.atomic():
        order = lock_order(payment.order_id)
        payment = Payment.objects.select_for_update().get(pk=payment.pk)
        _remember(payment, event)
        outcome = handler(order, payment, event, after_commit)
        payment.save(update_fields=_EVENT_FIELDS)  # amount_refunded moves by F() elsewhere
        transaction.on_commit(partial(_count_outcome, payment.gateway, outcome))
        for action in after_commit:
            # After the outermost commit: never call a gateway while holding the order lock.
            transaction.on_commit(action)
    return outcome


# The payment fields an event handler may change.
_EVENT_FIELDS = [
    "gateway_ids", "raw_responses", "status", "failure_reason", "status_changed_at", "applied",
    "updated_at",
]  # fmt: skip

# Outcomes counted on /metrics (payments_total{gateway, outcome}); others count as "other".
PAYMENT_OUTCOMES = (
    "paid", "paid_out_of_stock", "payment_failed", "amount_mismatch", "refund_processed",
    "refund_failed", "disputed", "dispute_won", "dispute_lost", "already_succeeded",
    "stale_failure_ignored", "failure_of_older_attempt", "paid_but_order_not_payable",
    "refund_amount_invalid",
)  # fmt: skip


def _count_outcome(gateway: str, outcome: str) -> None:
    PAYMENTS.labels(gateway, bounded_label(outcome, PAYMENT_OUTCOMES)).inc()


def _remember(payment: Payment, event: GatewayEvent) -> None:
    payment.gateway_ids = {**payment.gateway_ids, **event.gateway_ids}
    if event.raw is not None:
        entries = list(payment.raw_responses)[-19:]  # bounded: the webhook log keeps the rest
        entries.append({event.event_type: redact(payment.gateway, event.raw)})
        payment.raw_responses = entries


def _is_stale(payment: Payment, event: GatewayEvent) -> bool:
    return bool(
        payment.status_changed_at
        and event.occurred_at
        and event.occurred_at < payment.status_changed_at
    )


def _charge_succeeded(order: Order, payment: Payment, event: GatewayEvent, after: list) -> str:
    if payment.status == PaymentStatus.SUCCEEDED:
        return "already_succeeded"
    amount = Decimal(event.amount) if event.amount is not None else None
    currency = (event.currency or "").upper()
    if amount != order.total or currency != order.currency:
        payment.failure_reason = f"amount mismatch: got {amount} {currency}"[:300]
        orders.flag_order(
            order_id=order.pk,
            reason="payment_amount_mismatch",
            actor_type=ActorType.GATEWAY,
            payload={
                "reference": payment.reference,
                "expected": {"amount": str(order.total), "currency": order.currency},
                "received": {"amount": str(amount), "currency": currency},
            },
        )
        return "amount_mismatch"
    payment.status = PaymentStatus.SUCCEEDED
    payment.failure_reason = ""
    payment.status_changed_at = event.occurred_at or timezone.now()
    if order.state not in UNPAID_STATES:
        # Money for an order that is cancelled, or already paid by another attempt: it stays
        # unapplied, and staff refund it against this payment.
        orders.flag_order(
            order_id=order.pk,
            reason="payment_for_closed_order"
            if order.state == OrderState.CANCELLED
            else "paid_twice",
            actor_type=ActorType.GATEWAY,
            payload={"reference": payment.reference, "state": order.state},
        )
        return "paid_but_order_not_payable"
    paid = orders.mark_paid(
        order_id=order.pk,
        amount=amount,
        currency=currency,
        payload={"reference": payment.reference, "gateway": payment.gateway},
    )
    payment.applied = True
    if paid.attention_reason == OUT_OF_STOCK and paid.needs_attention:
        if get_setting("payments.auto_refund_when_out_of_stock"):
            after.append(lambda: _auto_refund(order.pk))
        return "paid_out_of_stock"
    return "paid"


def _auto_refund(order_id: int) -> None:
    from payments.services.refunds import issue_refund

    try:
        issue_refund(
            order_id=order_id,
            amount=None,
            lines=None,
            restock=False,
            reason="Paid after the stock ran out: automatic full refund.",
            actor=None,
            idempotency_key=f"auto-out-of-stock:{order_id}",
            customer_message="The items you paid for sold out before your payment arrived.",
            origin=RefundOrigin.SYSTEM,
        )
    except Exception:  # the order stays flagged; staff refund by hand
        logger.exception("Automatic refund of order %s failed", order_id)


def _charge_failed(order: Order, payment: Payment, event: GatewayEvent, after: list) -> str:
    if payment.status == PaymentStatus.SUCCEEDED:
        return "stale_failure_ignored"
    if payment.status in (PaymentStatus.FAILED, PaymentStatus.ABANDONED):
        return "already_failed"
    if _is_stale(payment, event):
        return "stale_failure_ignored"
    abandoned = event.event_type == "verify.abandoned"
    payment.status = PaymentStatus.ABANDONED if abandoned else PaymentStatus.FAILED
    payment.failure_reason = (event.failure_reason or "")[:300]
    payment.status_changed_at = event.occurred_at or timezone.now()
    latest = order.payments.order_by("-attempt").values_list("pk", flat=True).first()
    if order.state != OrderState.PENDING_PAYMENT or latest != payment.pk:
        return "failure_of_older_attempt"
    orders.mark_payment_failed(
        order_id=order.pk,
        reason=payment.failure_reason,
        payload={"reference": payment.reference, "gateway": payment.gateway},
    )
    return "payment_failed"


def _refund_for(payment: Payment, event: GatewayEvent) -> Refund | None:
    """The refund an event is about. By the gateway's refund id when the event carries one;
    an event that names an id we do not know can only be a refund whose answer we lost (a
    pending one with no id yet, of the same amount) or one made in the dashboard. Without an
    id (Paystack's refund webhooks carry none), the oldest pending refund of the amount."""
    refunds = Refund.objects.select_for_update().filter(payment=payment)
    refund_id = event.refund.gateway_refund_id if event.refund else None
    if refund_id:
        found = refunds.filter(gateway_refund_id=refund_id).first()
        if found is not None:
            return found
    recorded = refunds.filter(idempotency_key=_gateway_refund_key(event)).first()
    if recorded is not None:  # a refund made at the gateway, already booked from this event
        return recorded
    pending = refunds.filter(status=RefundStatus.PENDING, amount=event.amount)
    if refund_id:
        pending = pending.filter(gateway_refund_id="")
    return pending.order_by("pk").first()


def _gateway_refund_key(event: GatewayEvent) -> str:
    return f"gw:{event.gateway}:{event.event_key}"[:64]


def _refund_processed(order: Order, payment: Payment, event: GatewayEvent, after: list) -> str:
    if payment.status != PaymentStatus.SUCCEEDED:
        raise Deferred("refund before the charge's success")
    if order.state == OrderState.DISPUTED and payment.applied:
        raise Deferred("the order is disputed: the refund is booked once the dispute resolves")
    if event.amount is None or Decimal(event.amount) <= 0:
        return _refund_not_bookable(order, payment, event)
    refund = _refund_for(payment, event)
    if refund is not None and refund.status == RefundStatus.PROCESSED:
        return "already_processed"
    gateway_refund_id = (event.refund.gateway_refund_id or "") if event.refund else ""
    if refund is None:
        if Decimal(event.amount) > payment.amount - payment.amount_refunded:
            return _refund_not_bookable(order, payment, event)
        # Refunded from the gateway's dashboard: record it so the books add up.
        refund = Refund.objects.create(
            payment=payment,
            amount=event.amount,
            currency=event.currency or payment.currency,
            reason="Refunded at the gateway.",
            origin=RefundOrigin.GATEWAY,
            idempotency_key=_gateway_refund_key(event),
            gateway_refund_id=gateway_refund_id,
        )
    elif gateway_refund_id and not refund.gateway_refund_id:
        refund.gateway_refund_id = gateway_refund_id  # a lost answer, now known
    complete_refund(order=order, refund=refund, payload={"event": event.event_key})
    return "refund_processed"


def _refund_not_bookable(order: Order, payment: Payment, event: GatewayEvent) -> str:
    """Signed, yet not a refund anyone can book (no amount, or more than is left of the
    payment, which the tables refuse): staff look into it; the event is not retried."""
    orders.flag_order(
        order_id=order.pk,
        reason="refund_amount_invalid",
        actor_type=ActorType.GATEWAY,
        payload={"reference": payment.reference, "event": event.event_key,
                 "amount": None if event.amount is None else str(event.amount),
                 "refundable": str(payment.amount - payment.amount_refunded)},
    )  # fmt: skip
    return "refund_amount_invalid"


def _refund_failed(order: Order, payment: Payment, event: GatewayEvent, after: list) -> str:
    refund = _refund_for(payment, event)
    if refund is None:
        return "unknown_refund"
    if refund.status != RefundStatus.PENDING:
        return f"already_{refund.status}"
    fail_refund(
        order=order, refund=refund, failure=event.failure_reason or "refund failed at the gateway"
    )
    return "refund_failed"


def _dispute_opened(order: Order, payment: Payment, event: GatewayEvent, after: list) -> str:
    info = event.dispute
    if info is None:
        return "ignored"
    dispute, created = Dispute.objects.get_or_create(
        gateway=event.gateway,
        gateway_dispute_id=info.gateway_dispute_id,
        defaults={
            "payment": payment,
            "order": order,
            "amount": info.amount,
            "currency": info.currency or "",
            "reason": (info.reason or "")[:300],
            "evidence_due_at": info.evidence_due,
            "opened_at": event.occurred_at or timezone.now(),
        },
    )
    if not created or dispute.status != DisputeStatus.OPEN:
        return "already_recorded"
    transaction.on_commit(DISPUTES_OPENED.inc)
    if order.state not in DISPUTABLE_STATES:
        orders.flag_order(
            order_id=order.pk,
            reason="dispute_on_unpaid_order" if order.state in UNPAID_STATES else "dispute_opened",
            actor_type=ActorType.GATEWAY,
            payload={"dispute": info.gateway_dispute_id, "state": order.state},
        )
        return "dispute_recorded"
    orders.open_dispute(
        order_id=order.pk, reason=dispute.reason, payload={"dispute": info.gateway_dispute_id}
    )
    return "disputed"


def _dispute_resolved(order: Order, payment: Payment, event: GatewayEvent, after: list) -> str:
    info = event.dispute
    if info is None or info.status == "open":
        return "ignored"
    dispute = (
        Dispute.objects.select_for_update()
        .filter(gateway=event.gateway, gateway_dispute_id=info.gateway_dispute_id)
        .first()
    )
    if dispute is None:
        # The resolution overtook the opening: open it now so the order takes the same path.
        _dispute_opened(order, payment, replace(event, kind="dispute_opened"), after)
        order.refresh_from_db()
        dispute = Dispute.objects.select_for_update().get(
            gateway=event.gateway, gateway_dispute_id=info.gateway_dispute_id
        )
    if dispute.status != DisputeStatus.OPEN:
        return "already_resolved"
    dispute.status = info.status
    dispute.resolved_at = event.occurred_at or timezone.now()
    dispute.save()
    if order.state != OrderState.DISPUTED:
        return "dispute_resolved_order_not_disputed"
    orders.resolve_dispute(
        order_id=order.pk,
        won=info.status == "won",
        payload={"dispute": info.gateway_dispute_id},
    )
    return f"dispute_{info.status}"


_HANDLERS = {
    "charge_succeeded": _charge_succeeded,
    "charge_failed": _charge_failed,
    "refund_processed": _refund_processed,
    "refund_failed": _refund_failed,
    "dispute_opened": _dispute_opened,
    "dispute_resolved": _dispute_resolved,
}
