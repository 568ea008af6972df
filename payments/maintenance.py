"""Periodic payment upkeep and the ops commands' payment operations.

Reconciliation asks the gateway about payments still ``pending`` and applies the answer through
``sync_payment_with_gateway`` — the same ``apply_gateway_event`` path a webhook takes. No row
lock is held across the gateway call: a payment is claimed with a compare-and-set on its
``updated_at`` (which also records when it was last checked), so two reconcilers at once never
verify the same payment twice, and each payment is asked about at most once per interval.
"""

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from payments import services
from payments.models import Payment, PaymentStatus, WebhookEvent
from payments.providers.errors import PaymentError

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


def unprocessed_events(*, since: datetime, failed_only: bool):
    events = WebhookEvent.objects.filter(
        signature_valid=True, processed_at__isnull=True, received_at__gte=since
    )
    if failed_only:
        events = events.exclude(last_error="")
    return events.order_by("received_at", "pk")


@dataclass
class ReplayReport:
    processed: int = 0
    deferred: int = 0
    failed: int = 0
    outcomes: Counter = field(default_factory=Counter)


def replay_events(event_ids: list[int]) -> ReplayReport:
    """Process stored events now, in this process (each is safe to process twice)."""
    report = ReplayReport()
    for event_id in event_ids:
        try:
            outcome = services.process_webhook_event(event_id=event_id)
        except services.Deferred:
            report.deferred += 1
        except PaymentError as exc:
            report.failed += 1
            logger.warning("replay: webhook event %s failed: %s", event_id, exc.code)
        else:
            report.processed += 1
            report.outcomes[outcome] += 1
    return report


def purgeable_events(*, older_than: timedelta, now: datetime | None = None):
    cutoff = (now or timezone.now()) - older_than
    return WebhookEvent.objects.filter(processed_at__isnull=False, received_at__lte=cutoff)


def purge_processed_webhook_events(
    *, older_than: timedelta, now: datetime | None = None, batch_size: int = 2000
) -> int:
    """Delete processed events received longer ago than ``older_than``, in ``SKIP LOCKED``
    batches (two purges at once split the work). Unprocessed and refused events stay."""
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            batch = (
                purgeable_events(older_than=older_than, now=now)
                .select_for_update(skip_locked=True)
                .order_by()
                .values("pk")[:batch_size]
            )
            deleted, _ = WebhookEvent.objects.filter(pk__in=batch).delete()
        total += deleted
        if deleted < batch_size:
            return total
