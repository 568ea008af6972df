"""Receiving, storing and processing gateway webhooks; the customer's verify; the re-drive.

Receiving does no business work: verify the signature, store one row per event (the unique
(gateway, event_key) drops redeliveries), and after commit hand the row id to Celery. If the
broker is down the row simply waits for ``redrive_stuck_webhooks``. Bodies are stored redacted
(``payments.webhook_bodies``); a refused one only as a bounded prefix with its length and hash.

An event whose processing keeps failing with an error that retrying does not fix is ``dead``
after ``ops.webhook_max_attempts`` attempts: the re-drive leaves it to staff (admin replay).
Waiting for another event (``Deferred``) or for a gateway or the database is retryable and never
kills an event; the re-drive takes the least recently tried events first, so events that keep
failing take turns with newer ones instead of filling every run.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from functools import partial
from typing import Any

from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from core.errors import DomainError
from observability.metrics import WEBHOOK_EVENTS, WEBHOOK_PROCESSING_LAG
from payments.errors import PaymentNotFound
from payments.gateways import get_provider
from payments.models import Payment, WebhookEvent
from payments.providers import DisputeInfo, GatewayEvent, RefundInfo
from payments.providers.base import header, parse_timestamp
from payments.providers.errors import GatewayUnavailable, InvalidSignature, InvalidWebhookPayload
from payments.providers.http import encode_json
from payments.services.events import (
    Deferred,
    apply_gateway_event,
    event_from_verify,
    find_payment,
)
from payments.storable import is_storable, storable, storable_text
from payments.webhook_bodies import StoredBody, stored_body
from shop.platform_settings import get_setting

logger = logging.getLogger(__name__)

# Failures that go away by themselves: the event waits for another one, or a gateway or the
# database was briefly unreachable. Any other error counts towards ops.webhook_max_attempts.
RETRYABLE_ERRORS = (Deferred, GatewayUnavailable, OperationalError, InterfaceError)

# Headers worth keeping for audit; never Authorization or cookies.
KEPT_HEADERS = (
    "content-type",
    "user-agent",
    "x-paystack-signature",
    "stripe-signature",
    "verif-hash",
    "x-dummy-signature",
)


@dataclass(frozen=True)
class Received:
    stored: list[int]  # new WebhookEvent ids (queued for processing)
    duplicates: int
    event_types: list[str]  # of the stored events, for the webhook_events_total counter


def _kept_headers(headers: Mapping[str, str]) -> dict[str, str]:
    kept = {}
    for name in KEPT_HEADERS:  # verif-hash is a shared secret: only whether it was sent
        value = header(headers, name)
        if value is not None:
            kept[name] = "[set]" if name == "verif-hash" else storable_text(value[:500])
    return kept


def receive_webhook(
    *, gateway: str, headers: Mapping[str, str], body: bytes, remote_addr: str | None
) -> Received:
    """Verify and store; raises InvalidSignature (after storing the refused body for audit)."""
    provider = get_provider(gateway)
    try:
        events = provider.parse_webhook(headers, body)
    except InvalidSignature:
        # Anyone's input, kept for audit: a bounded, redacted prefix with its length and hash.
        refused = stored_body(gateway, body, refused=True)
        WebhookEvent.objects.create(
            gateway=gateway,
            event_key=f"invalid-signature:{uuid.uuid4().hex}",
            raw_body=refused.text,
            body_length=refused.length,
            body_sha256=refused.sha256,
            headers=_kept_headers(headers),
            signature_valid=False,
            remote_addr=remote_addr,
        )
        logger.warning("Refused a %s webhook with a bad signature from %s", gateway, remote_addr)
        raise
    except InvalidWebhookPayload:
        # Signed but unreadable: answered 400, so the gateway keeps it and retries, and
        # reconciliation still asks the gateway about any payment it was about.
        logger.warning(
            "Refused a signed %s webhook that is not a readable event (%d bytes) from %s",
            gateway,
            len(body),
            remote_addr,
        )
        raise
    received = stored_body(gateway, body)
    return _store_events(
        gateway,
        [(event, received) for event in events],
        headers=_kept_headers(headers),
        remote_addr=remote_addr,
    )


def store_polled_events(*, gateway: str, events: list[GatewayEvent]) -> Received:
    """Events learnt by asking the gateway's API (Flutterwave chargebacks): stored as verified
    webhook rows so the same unique key drops repeats and the same task processes them."""
    return _store_events(
        gateway,
        [(event, stored_body(gateway, encode_json(event.raw))) for event in events],
        headers={},
        remote_addr=None,
    )


def _store_events(
    gateway: str,
    events: list[tuple[GatewayEvent, StoredBody]],
    *,
    headers: dict[str, str],
    remote_addr: str | None,
) -> Received:
    stored: list[int] = []
    event_types: list[str] = []
    duplicates = 0
    for event, body in events:
        try:
            with transaction.atomic():
                # A signed body may carry \u0000 or a lone surrogate escape in any string, which
                # text and jsonb cannot hold: the normalised copy gets U+FFFD instead (matching
                # none of our references or ids), and the event is stored and processed like any
                # other, rather than refused and redelivered forever.
                row = WebhookEvent.objects.create(
                    gateway=gateway,
                    event_key=storable_text(event.event_key[:200]),
                    event_type=storable_text(event.event_type[:100]),
                    kind=event.kind,
                    event=storable(serialise_event(event)),
                    raw_body=body.text,
                    body_length=body.length,
                    body_sha256=body.sha256,
                    headers=headers,
                    signature_valid=True,
                    remote_addr=remote_addr,
                )
        except IntegrityError:
            duplicates += 1
            continue
        stored.append(row.pk)
        event_types.append(row.event_type)
        transaction.on_commit(lambda pk=row.pk: enqueue(pk))
    return Received(stored=stored, duplicates=duplicates, event_types=event_types)


def enqueue(event_id: int) -> bool:
    """Queue processing; False (logged) when the broker is unreachable: the re-drive retries."""
    from payments.tasks import process_webhook_event as task

    try:
        task.delay(event_id)
    except Exception:  # broker down: the row stays unprocessed, nothing is lost
        logger.exception("Could not queue webhook event %s; left for the re-drive", event_id)
        return False
    return True


def process_webhook_event(*, event_id: int) -> str:
    """Apply a stored event once. Safe to run twice or concurrently: the row lock decides."""
    row = WebhookEvent.objects.get(pk=event_id)
    if row.processed_at is not None or not row.signature_valid:
        return row.outcome or "not_processed"
    event = deserialise_event(row.gateway, row.event)
    try:
        payment = find_payment(event)
        if payment is not None and not event.trusted and event.kind.startswith("charge_"):
            # Flutterwave's verif-hash does not cover the body: the gateway's own answer decides.
            confirmed = event_from_verify(
                row.gateway,
                get_provider(row.gateway).verify(
                    payment.reference, gateway_ids={**payment.gateway_ids, **event.gateway_ids}
                ),
            )
            event = confirmed if confirmed is not None else _pending(event)
        with transaction.atomic():
            row = WebhookEvent.objects.select_for_update().get(pk=event_id)
            if row.processed_at is not None:
                return row.outcome
            outcome = apply_gateway_event(event=event, payment=payment)
            row.processed_at = row.last_attempt_at = timezone.now()
            row.dead_at = None  # a dead event replayed by staff
            row.outcome = outcome
            row.attempts += 1
            row.last_error = ""
            row.payment = payment
            row.save()
        logger.info("Webhook %s %s: %s", row.gateway, row.event_key, outcome)
        WEBHOOK_EVENTS.labels(row.gateway, row.event_type, "processed").inc()
        WEBHOOK_PROCESSING_LAG.labels(row.gateway).observe(
            (row.processed_at - row.received_at).total_seconds()
        )
        return outcome
    except Deferred as exc:
        _record_failure(event_id, f"deferred: {exc}", retryable=True)
        raise
    except RETRYABLE_ERRORS as exc:
        _record_failure(event_id, f"{type(exc).__name__}: {exc}", retryable=True)
        raise
    except Exception as exc:
        _record_failure(event_id, f"{type(exc).__name__}: {exc}", retryable=False)
        raise


def _pending(event: GatewayEvent) -> GatewayEvent:
    from dataclasses import replace

    return replace(event, kind="unknown", event_type=f"{event.event_type} (not confirmed)")


def _record_failure(event_id: int, error: str, *, retryable: bool) -> None:
    max_attempts = get_setting("ops.webhook_max_attempts")
    with transaction.atomic():
        row = WebhookEvent.objects.select_for_update().get(pk=event_id)
        if row.processed_at is not None:
            return  # another run processed it meanwhile
        result = "deferred" if error.startswith("deferred:") else "failed"
        transaction.on_commit(
            partial(WEBHOOK_EVENTS.labels(row.gateway, row.event_type, result).inc)
        )
        row.attempts += 1
        row.last_attempt_at = timezone.now()
        row.last_error = error[:2000]
        dies = not retryable and row.dead_at is None and row.attempts >= max_attempts
        if dies:
            row.dead_at = row.last_attempt_at
            transaction.on_commit(
                partial(WEBHOOK_EVENTS.labels(row.gateway, row.event_type, "dead").inc)
            )
        row.save(update_fields=["attempts", "last_attempt_at", "last_error", "dead_at"])
    if dies:
        logger.error(
            "Webhook event %s (%s %s) is dead after %d attempts: %s",
            event_id, row.gateway, row.event_type, row.attempts, row.last_error,
        )  # fmt: skip


def redrive_queue(*, older_than: timedelta, now: datetime | None = None) -> QuerySet[WebhookEvent]:
    """Valid events unprocessed, not dead, received and last tried ``older_than`` ago or more.

    Never-tried events first (a lost task, a broker outage), then the least recently tried, so
    events that keep failing take turns with newer ones instead of filling every run.
    """
    cutoff = (now or timezone.now()) - older_than
    return (
        WebhookEvent.objects.filter(
            signature_valid=True,
            processed_at__isnull=True,
            dead_at__isnull=True,
            received_at__lte=cutoff,
        )
        .filter(Q(last_attempt_at__isnull=True) | Q(last_attempt_at__lte=cutoff))
        .order_by(F("last_attempt_at").asc(nulls_first=True), "received_at", "pk")
    )


def redrive_stuck_webhooks(*, older_than: timedelta, limit: int = 500) -> int:
    """Queue up to ``limit`` events of ``redrive_queue``; returns how many were queued."""
    ids = list(redrive_queue(older_than=older_than).values_list("pk", flat=True)[:limit])
    return sum(1 for pk in ids if enqueue(pk))


def verify_payment(*, reference: str, customer: Any) -> Payment:
    """The customer's own payment: ask the gateway and apply its answer like a webhook."""
    # A reference PostgreSQL could not even compare (a NUL byte) names no payment.
    payment = (
        Payment.objects.filter(reference=reference, order__customer=customer).first()
        if is_storable(reference)
        else None
    )
    if payment is None:
        raise PaymentNotFound(details={"reference": storable_text(reference)})
    return sync_payment_with_gateway(payment_id=payment.pk)


def sync_payment_with_gateway(*, payment_id: int) -> Payment:
    """Ask the gateway about a payment and apply the answer (verify endpoint, reconciliation).

    Gateway errors propagate (``GatewayUnavailable``…); nothing changes then. Every provider
    answers ``PaymentNotFound`` for an attempt it never saw, e.g. one whose start failed before
    the gateway opened it (Stripe without a checkout session is not even asked).
    """
    payment = Payment.objects.get(pk=payment_id)
    result = get_provider(payment.gateway).verify(
        payment.reference, gateway_ids=payment.gateway_ids
    )
    event = event_from_verify(payment.gateway, result)
    if event is not None:
        apply_gateway_event(event=event, payment=payment)  # charge events only: never Deferred
    elif result.gateway_ids:
        Payment.objects.filter(pk=payment.pk).update(
            gateway_ids={**payment.gateway_ids, **result.gateway_ids}
        )
    return Payment.objects.select_related("order").get(pk=payment.pk)


# --- the normalised event, as stored on the row --------------------------------------------
def _json(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _json(v) for k, v in value.items()}
    if isinstance(value, list | tuple):  # a signed body may put numbers anywhere (fuzzing)
        return [_json(item) for item in value]
    return value


def serialise_event(event: GatewayEvent) -> dict[str, Any]:
    data = asdict(event)
    data.pop("raw")
    return _json(data)


def deserialise_event(gateway: str, data: Mapping[str, Any]) -> GatewayEvent:
    dispute = data.get("dispute")
    refund = data.get("refund")
    return GatewayEvent(
        gateway=gateway,
        kind=data.get("kind", "unknown"),
        event_type=data.get("event_type", ""),
        event_key=data.get("event_key", ""),
        reference=data.get("reference"),
        amount=Decimal(data["amount"]) if data.get("amount") is not None else None,
        currency=data.get("currency"),
        occurred_at=parse_timestamp(data.get("occurred_at")),
        gateway_ids=dict(data.get("gateway_ids") or {}),
        trusted=bool(data.get("trusted", True)),
        failure_reason=data.get("failure_reason"),
        dispute=DisputeInfo(
            gateway_dispute_id=dispute["gateway_dispute_id"],
            status=dispute["status"],
            reason=dispute.get("reason"),
            evidence_due=parse_timestamp(dispute.get("evidence_due")),
            amount=Decimal(dispute["amount"]) if dispute.get("amount") is not None else None,
            currency=dispute.get("currency"),
        )
        if dispute
        else None,
        refund=RefundInfo(**refund) if refund else None,
        raw=None,
    )


__all__ = [
    "DomainError",
    "process_webhook_event",
    "receive_webhook",
    "redrive_stuck_webhooks",
    "store_polled_events",
    "sync_payment_with_gateway",
    "verify_payment",
]
