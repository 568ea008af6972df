"""Delivering the outbox: claim due rows, send outside any transaction, record each result.

Claiming takes the rows with ``SELECT ... FOR UPDATE SKIP LOCKED`` in a short transaction and
marks them ``sending`` with a lease (``next_attempt_at = now + SENDING_LEASE``), so concurrent
dispatchers never take the same row. The claim also increments ``attempts``, which then serves
as a fencing token: a result is recorded only while the row is still ``sending`` with that
attempt number, so a dispatcher that lost its lease cannot overwrite a newer outcome.

A row stays ``sending`` only if its dispatcher died between claim and record; it is re-claimed
once the lease has expired. The lease is far longer than any send can take (HTTP and SMTP
calls time out), and a dispatcher stops sending from a batch well before its lease ends, so a
live dispatcher never has its row taken over. The one case that can repeat a message is a
process killed after the provider accepted it and before the result was written.
"""

import logging
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import F
from django.utils import timezone

from notifications.channels.base import DeliveryError, SendResult, TransientDeliveryError
from notifications.channels.email import send_email
from notifications.channels.sms import get_sms_provider
from notifications.events import without_secrets
from notifications.models import Notification
from notifications.rendering import render_email, render_sms

logger = logging.getLogger(__name__)

Status = Notification.Status

SENDING_LEASE = timedelta(minutes=10)
# A batch stops sending (and releases what it has not sent) after this long.
BATCH_TIME_BUDGET = SENDING_LEASE / 2
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=6)

Clock = Callable[[], datetime]
_jitter = random.SystemRandom()


@dataclass
class DispatchReport:
    claimed: int = 0
    sent: int = 0
    failed: int = 0
    dead: int = 0
    released: int = 0
    lost_lease: int = 0
    sent_ids: list[int] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {
            "claimed": self.claimed,
            "sent": self.sent,
            "failed": self.failed,
            "dead": self.dead,
            "released": self.released,
            "lost_lease": self.lost_lease,
        }


def backoff_delay(attempt: int) -> timedelta:
    """Exponential backoff with jitter: between half and all of min(cap, base * 2**(n-1))."""
    ceiling = min(BACKOFF_CAP, BACKOFF_BASE * 2 ** max(attempt - 1, 0))
    return ceiling / 2 + ceiling / 2 * _jitter.random()


def dispatch_due(*, batch_size: int = 50, clock: Clock = timezone.now) -> DispatchReport:
    """Send up to ``batch_size`` due notifications; returns what happened to them."""
    report = DispatchReport()
    claimed, expired = _claim(batch_size, clock())
    report.claimed = len(claimed)
    report.dead += expired
    started = clock()
    for position, notification in enumerate(claimed):
        if clock() - started > BATCH_TIME_BUDGET:
            report.released += _release(claimed[position:], clock())
            break
        _deliver_one(notification, clock, report)
    if report.claimed or report.dead:
        logger.info(
            "notifications dispatched: claimed=%d sent=%d failed=%d dead=%d released=%d "
            "lost_lease=%d",
            report.claimed, report.sent, report.failed, report.dead, report.released,
            report.lost_lease,
        )  # fmt: skip
    return report


def _claim(batch_size: int, now: datetime) -> tuple[list[Notification], int]:
    """Lock and mark due rows ``sending``. Rows whose lease expired on their last allowed
    attempt become ``dead``: their outcome is unknown and no attempts are left."""
    with transaction.atomic():
        due = list(
            Notification.objects.select_for_update(skip_locked=True)
            .filter(
                status__in=[Status.QUEUED, Status.FAILED, Status.SENDING],
                next_attempt_at__lte=now,
            )
            .order_by("next_attempt_at", "pk")[:batch_size]
        )
        exhausted = [n.pk for n in due if n.attempts >= n.max_attempts]
        claimable = [n for n in due if n.attempts < n.max_attempts]
        if exhausted:
            Notification.objects.filter(pk__in=exhausted).update(
                status=Status.DEAD,
                last_error="Lease expired on the last attempt; delivery outcome unknown.",
                updated_at=now,
            )
        Notification.objects.filter(pk__in=[n.pk for n in claimable]).update(
            status=Status.SENDING,
            attempts=F("attempts") + 1,
            next_attempt_at=now + SENDING_LEASE,
            updated_at=now,
        )
    for notification in claimable:
        notification.attempts += 1
        notification.status = Status.SENDING
    return claimable, len(exhausted)


def _send(notification: Notification) -> SendResult:
    if notification.channel == Notification.Channel.EMAIL:
        email = render_email(notification.template, notification.context)
        return send_email(to=notification.recipient, email=email)
    body = render_sms(notification.template, notification.context)
    return get_sms_provider().send(to=notification.recipient, body=body)


def _deliver_one(notification: Notification, clock: Clock, report: DispatchReport) -> None:
    try:
        result = _send(notification)
    except DeliveryError as exc:
        error: DeliveryError = exc
    except Exception as exc:
        # A template or code bug must not leave the row stuck in `sending` nor stop the batch:
        # it is recorded as a failure (visible in the admin) and retried with backoff.
        logger.exception("notification %s: unexpected error while sending", notification.pk)
        error = TransientDeliveryError(f"{type(exc).__name__}: {exc}")
    else:
        _record_sent(notification, result, clock(), report)
        return
    _record_failure(notification, error, clock(), report)


def _owned(notification: Notification):
    return Notification.objects.filter(
        pk=notification.pk, status=Status.SENDING, attempts=notification.attempts
    )


def _record_sent(
    notification: Notification, result: SendResult, now: datetime, report: DispatchReport
) -> None:
    updated = _owned(notification).update(
        status=Status.SENT,
        provider_message_id=result.provider_message_id[:255],
        sent_at=now,
        last_error="",
        updated_at=now,
        # a reset link is a credential: once delivered, the outbox need not keep it
        context=without_secrets(notification.template, notification.context),
    )
    if updated:
        report.sent += 1
        report.sent_ids.append(notification.pk)
    else:
        report.lost_lease += 1
        logger.warning("notification %s sent but its lease was lost", notification.pk)


def _record_failure(
    notification: Notification, error: DeliveryError, now: datetime, report: DispatchReport
) -> None:
    final = not error.retryable or notification.attempts >= notification.max_attempts
    status = Status.DEAD if final else Status.FAILED
    next_attempt_at = now if final else now + backoff_delay(notification.attempts)
    updated = _owned(notification).update(
        status=status,
        last_error=f"attempt {notification.attempts}: {error.message}"[:2000],
        next_attempt_at=next_attempt_at,
        updated_at=now,
    )
    if not updated:
        report.lost_lease += 1
        return
    if final:
        report.dead += 1
        logger.warning(
            "notification %s (%s to %s) is dead after %d attempt(s): %s",
            notification.pk, notification.template, notification.channel,
            notification.attempts, error.message,
        )  # fmt: skip
    else:
        report.failed += 1


def _release(unsent: list[Notification], now: datetime) -> int:
    """Hand back claimed rows this batch had no time to send, without using up an attempt."""
    released = 0
    for notification in unsent:
        released += _owned(notification).update(
            status=Status.QUEUED,
            attempts=F("attempts") - 1,
            next_attempt_at=now,
            updated_at=now,
        )
    return released


def dispatch_batches(*, max_batches: int = 20, batch_size: int = 50) -> DispatchReport:
    """Run ``dispatch_due`` until a batch comes back short or ``max_batches`` ran: bounded work
    per call, so a task or cron run always ends; the next run picks up the rest."""
    total = DispatchReport()
    for _ in range(max_batches):
        report = dispatch_due(batch_size=batch_size)
        for name, value in report.as_dict().items():
            setattr(total, name, getattr(total, name) + value)
        total.sent_ids.extend(report.sent_ids)
        if report.claimed < batch_size:
            break
    return total
