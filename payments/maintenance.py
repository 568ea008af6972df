"""Periodic payment upkeep and the operations behind the payment commands.

Dispute polling asks gateways that report chargebacks only through their API (Flutterwave) and
stores each chargeback state as a verified webhook row, processed by the same task.

Reconciliation asks the gateway about payments still ``pending`` and applies the answer through
``sync_payment_with_gateway`` — the same ``apply_gateway_event`` path a webhook takes. No row
lock is held across the gateway call: a payment is claimed with a compare-and-set on its
``updated_at`` (which also records when it was last checked), so two reconcilers at once never
verify the same payment twice, and each payment is asked about at most once per interval.
"""

import logging
from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Min, QuerySet
from django.utils import timezone

from payments import services
from payments.gateways import get_provider
from payments.models import Dispute, DisputeStatus, Payment, PaymentStatus, WebhookEvent
from payments.providers import GatewayEvent
from payments.providers.errors import PaymentError, PaymentMethodNotConfigured
from payments.services.events import find_payment

logger = logging.getLogger(__name__)

# Methods whose money only staff can see arrive: the gateway has nothing to tell.
OFFLINE_METHODS = ("bank_transfer", "cod")


@dataclass
class ReconcileReport:
    checked: int = 0
    errors: int = 0
    skipped: int = 0  # claimed by a concurrent reconciler
    statuses: Counter = field(default_factory=Counter)  # status after the check

    def as_dict(self) -> dict[str, object]:
        return {
            "checked": self.checked,
            "errors": self.errors,
            "skipped": self.skipped,
            "statuses": dict(sorted(self.statuses.items())),
        }


def pending_payments_due(*, older_than: timedelta, now: datetime | None = None):
    cutoff = (now or timezone.now()) - older_than
    return (
        Payment.objects.filter(
            status=PaymentStatus.PENDING, created_at__lte=cutoff, updated_at__lte=cutoff
        )
        .exclude(gateway__in=OFFLINE_METHODS)
        .order_by("updated_at", "pk")
    )


def reconcile_pending_payments(
    *, older_than: timedelta, now: datetime | None = None, limit: int = 100
) -> ReconcileReport:
    """Verify up to ``limit`` payments pending longer than ``older_than`` with their gateway."""
    now = now or timezone.now()
    report = ReconcileReport()
    due = list(
        pending_payments_due(older_than=older_than, now=now).values_list("pk", "updated_at")[:limit]
    )
    for payment_id, seen in due:
        claimed = Payment.objects.filter(
            pk=payment_id, status=PaymentStatus.PENDING, updated_at=seen
        ).update(updated_at=now)
        if not claimed:
            report.skipped += 1
            continue
        report.checked += 1
        try:
            payment = services.sync_payment_with_gateway(payment_id=payment_id)
        except PaymentError as exc:
            report.errors += 1
            logger.warning("reconcile: payment %s not verified: %s", payment_id, exc.code)
            continue
        report.statuses[payment.status] += 1
    return report


def unprocessed_events(*, since: datetime, failed_only: bool, dead_only: bool = False):
    events = WebhookEvent.objects.filter(
        signature_valid=True, processed_at__isnull=True, received_at__gte=since
    )
    if failed_only:
        events = events.exclude(last_error="")
    if dead_only:
        events = events.filter(dead_at__isnull=False)
    return events.order_by("received_at", "pk")


@dataclass
class ReplayReport:
    processed: int = 0
    deferred: int = 0
    failed: int = 0
    outcomes: Counter = field(default_factory=Counter)


def replay_events(event_ids: list[int]) -> ReplayReport:
    """Process stored events now, in this process (each is safe to process twice), dead ones
    included. A failure is recorded on its row and counted here; the next event goes on."""
    report = ReplayReport()
    for event_id in event_ids:
        try:
            outcome = services.process_webhook_event(event_id=event_id)
        except services.Deferred:
            report.deferred += 1
        except PaymentError as exc:
            report.failed += 1
            logger.warning("replay: webhook event %s failed: %s", event_id, exc.code)
        except Exception:  # recorded on the row (last_error); one bad event stops no other
            report.failed += 1
            logger.exception("replay: webhook event %s failed", event_id)
        else:
            report.processed += 1
            report.outcomes[outcome] += 1
    return report


def purgeable_events(
    *, older_than: timedelta, now: datetime | None = None
) -> QuerySet[WebhookEvent]:
    cutoff = (now or timezone.now()) - older_than
    return WebhookEvent.objects.filter(processed_at__isnull=False, received_at__lte=cutoff)


def purgeable_refused_events(
    *, older_than: timedelta, now: datetime | None = None
) -> QuerySet[WebhookEvent]:
    cutoff = (now or timezone.now()) - older_than
    return WebhookEvent.objects.filter(signature_valid=False, received_at__lte=cutoff)


def purge_processed_webhook_events(
    *, older_than: timedelta, now: datetime | None = None, batch_size: int = 2000
) -> int:
    """Delete processed events received longer ago than ``older_than``. Unprocessed and
    refused events stay."""
    return _delete_in_batches(purgeable_events(older_than=older_than, now=now), batch_size)


def purge_refused_webhook_events(
    *, older_than: timedelta, now: datetime | None = None, batch_size: int = 2000
) -> int:
    """Delete events refused for their signature received longer ago than ``older_than``
    (``ops.purge_refused_webhooks_after_days``): anyone's input, kept only for a short audit."""
    return _delete_in_batches(purgeable_refused_events(older_than=older_than, now=now), batch_size)


def _delete_in_batches(rows: QuerySet[WebhookEvent], batch_size: int) -> int:
    # SKIP LOCKED batches: two purges at once split the work, each row deleted once.
    total = 0
    while True:
        with transaction.atomic():
            batch = rows.select_for_update(skip_locked=True).order_by().values("pk")[:batch_size]
            deleted, _ = WebhookEvent.objects.filter(pk__in=batch).delete()
        total += deleted
        if deleted < batch_size:
            return total


# Gateways whose disputes are learnt by asking (no dispute webhooks): providers with a
# ``list_chargebacks(since)`` method.
DISPUTE_POLLED_GATEWAYS = ("flutterwave",)
DISPUTE_POLL_LOOKBACK = timedelta(days=7)


@dataclass
class DisputePollReport:
    polled: list[str] = field(default_factory=list)  # gateways asked successfully
    seen: int = 0  # chargeback states the gateways listed
    queued: int = 0  # new states stored and queued for processing
    already_known: int = 0  # states stored by an earlier poll
    errors: list[str] = field(default_factory=list)  # gateways that could not be asked
    event_ids: list[int] = field(default_factory=list)  # the queued WebhookEvent rows

    def as_dict(self) -> dict[str, object]:
        return {
            "polled": self.polled,
            "seen": self.seen,
            "queued": self.queued,
            "already_known": self.already_known,
            "errors": self.errors,
        }


def dispute_poll_since(gateway: str, *, lookback: timedelta, now: datetime) -> datetime:
    """``lookback`` ago, or earlier while a dispute opened before then is still open: its
    resolution must still be seen (the list filters on the chargeback's creation date)."""
    oldest_open = Dispute.objects.filter(gateway=gateway, status=DisputeStatus.OPEN).aggregate(
        oldest=Min("opened_at")
    )["oldest"]
    since = now - lookback
    return min(since, oldest_open) if oldest_open else since


def poll_gateway_disputes(
    *, lookback: timedelta = DISPUTE_POLL_LOOKBACK, now: datetime | None = None
) -> DisputePollReport:
    """Ask each configured polled gateway for its chargebacks and queue the states not seen
    before; each is then applied by ``process_webhook_event`` like a dispute webhook."""
    now = now or timezone.now()
    report = DisputePollReport()
    for gateway in DISPUTE_POLLED_GATEWAYS:
        try:
            provider = get_provider(gateway)
        except PaymentMethodNotConfigured:
            continue  # the gateway is not used here
        since = dispute_poll_since(gateway, lookback=lookback, now=now)
        try:
            events = provider.list_chargebacks(since)  # type: ignore[attr-defined]
        except PaymentError as exc:
            report.errors.append(gateway)
            logger.warning("poll disputes: %s could not be asked: %s", gateway, exc.code)
            continue
        report.polled.append(gateway)
        report.seen += len(events)
        received = services.store_polled_events(
            gateway=gateway, events=[_in_payment_currency(e) for e in events]
        )
        report.queued += len(received.stored)
        report.event_ids.extend(received.stored)
        report.already_known += received.duplicates
    return report


def _in_payment_currency(event: GatewayEvent) -> GatewayEvent:
    """Chargebacks carry an amount but no currency: it is the disputed payment's."""
    if event.currency or event.dispute is None:
        return event
    payment = find_payment(event)
    if payment is None:
        return event
    return replace(
        event,
        currency=payment.currency,
        dispute=replace(event.dispute, currency=payment.currency),
    )
