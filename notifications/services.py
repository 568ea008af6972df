"""Every write of the notifications app.

``enqueue`` and ``staff_alert`` are the app's whole interface for other apps: they are handed
an event name, recipients and a context, never a domain object. Rows are written in the
CALLER's transaction and dispatched after it commits (``dispatch_due`` in ``delivery.py``).
"""

import json
import logging
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.serializers.json import DjangoJSONEncoder
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import F
from django.utils import timezone

from core import sql
from core.coalesce import Coalesced
from core.phones import normalize_phone
from core.transactions import joined_transaction
from notifications.delivery import DispatchReport, dispatch_due
from notifications.events import EVENTS, Audience, EventSpec
from notifications.exceptions import (
    InvalidRecipient,
    NotificationContextInvalid,
    UnknownNotificationEvent,
)
from notifications.models import Notification

__all__ = ["DispatchReport", "dispatch_due", "enqueue", "retry_now", "staff_alert"]

logger = logging.getLogger(__name__)

Channel = Notification.Channel
DEDUP_KEY_MAX_LENGTH = Notification._meta.get_field("dedup_key").max_length


def enqueue(
    *,
    event: str,
    email: str | None,
    phone: str | None,
    context: dict[str, Any],
    dedup_key: str,
    sms_allowed: bool = True,
    fetch_rows: bool = True,
) -> list[Notification]:
    """Queue the customer messages for ``event``, at most once per ``dedup_key``.

    ``dedup_key`` names the occurrence, e.g. ``f"order_placed:{order.number}"``; each row's
    stored key is ``f"{dedup_key}:{channel}"``. Email is always sent when an address is given
    (transactional email cannot be disabled); SMS only when the event has an SMS body, a phone
    is given, ``sms_allowed`` (the customer's opt-in) and SMS is on (``SMS_PROVIDER``).
    Calling again with the same key — a retried service, a duplicate webhook — inserts nothing
    and returns the existing rows.
    With ``fetch_rows=False`` nothing is read back and ``[]`` is returned: callers on a hot
    path (checkout) save that query.
    Raises InvalidRecipient, UnknownNotificationEvent or NotificationContextInvalid.
    """
    spec = _spec(event, Audience.CUSTOMER)
    stored_context = _checked_context(spec, context)
    recipients: list[tuple[str, str]] = []
    if email:
        recipients.append((Channel.EMAIL, _checked_email(email)))
    if phone and spec.has_sms and sms_allowed and settings.SMS_PROVIDER != "none":
        recipients.append((Channel.SMS, _checked_phone(phone)))
    if not recipients:
        if email is None and phone is None:
            raise InvalidRecipient("A notification needs an email address or a phone number.")
        return []
    return _insert(
        spec,
        stored_context,
        [(channel, to, f"{dedup_key}:{channel}") for channel, to in recipients],
        fetch_rows=fetch_rows,
    )


def staff_alert(event: str, context: dict[str, Any], dedup_key: str) -> list[Notification]:
    """Email a staff alert to every address in SHOP_STAFF_ALERT_EMAILS, once per ``dedup_key``."""
    spec = _spec(event, Audience.STAFF)
    stored_context = _checked_context(spec, context)
    addresses = sorted({_checked_email(a) for a in settings.SHOP_STAFF_ALERT_EMAILS})
    if not addresses:
        logger.warning(
            "staff alert %s (%s) dropped: SHOP_STAFF_ALERT_EMAILS is empty", event, dedup_key
        )
        return []
    return _insert(
        spec,
        stored_context,
        [(Channel.EMAIL, a, f"{dedup_key}:{Channel.EMAIL}:{a}") for a in addresses],
    )


def retry_now(*, ids: Iterable[int]) -> int:
    """Queue failed and dead rows for an immediate attempt; returns how many were queued.

    A dead row gets a fresh attempt budget (NOTIFICATION_MAX_ATTEMPTS more tries). Rows in any
    other status are left alone: a sent message is never sent again.
    """
    now = timezone.now()
    with transaction.atomic():
        retryable = Notification.objects.filter(
            pk__in=list(ids), status__in=[Notification.Status.FAILED, Notification.Status.DEAD]
        )
        count = retryable.update(
            status=Notification.Status.QUEUED,
            next_attempt_at=now,
            max_attempts=F("attempts") + settings.NOTIFICATION_MAX_ATTEMPTS,
            updated_at=now,
        )
        if count:
            transaction.on_commit(schedule_dispatch)
    return count


# Set while a dispatch task is queued and has not started: further wake-ups are redundant.
DISPATCH_PENDING_KEY = "notifications:dispatch-pending"
# If the queued task is lost (worker killed), wake-ups resume after this; beat covers the gap.
DISPATCH_PENDING_SECONDS = 60


# A committed row waits this long at most before its wake-up is sent; the wake-ups of every
# commit in that interval (in this process) go out as one, from a background thread.
WAKE_UP_SECONDS = 0.05


def schedule_dispatch() -> None:
    """Ask a worker to dispatch soon: ``publish_wake_up`` runs within ``WAKE_UP_SECONDS`` on a
    background thread, once for all the commits of this process in between. A checkout then
    makes no Redis round trip of its own for its messages. Without a broker (tasks run eagerly:
    the embedded default) the dispatch runs here and now, as the caller expects.
    Never raises."""
    from notifications.tasks import dispatch_notifications

    # The task's own Celery app (the project's, whichever module created it) says how it runs.
    if dispatch_notifications.app.conf.task_always_eager:
        publish_wake_up()
    else:
        WAKE_UP.request()


def publish_wake_up() -> None:
    """Publish a dispatch task, unless one is already queued and not yet started.

    Coalescing matters under a rush: every order event would otherwise publish its own task
    for work one task does anyway. The task clears the marker before it claims rows
    (``claim_dispatch``), so a row committed after that schedules a new task and a row
    committed before it is seen by the claim. Never raises: if the cache or broker is down,
    the periodic sweep (``dispatch_notifications`` on beat, or ``manage.py
    dispatch_notifications``) delivers.
    """
    from notifications.tasks import dispatch_notifications

    try:
        if not cache.add(DISPATCH_PENDING_KEY, 1, timeout=DISPATCH_PENDING_SECONDS):
            return
    except Exception:  # cache down: publish anyway rather than skip the wake-up
        logger.warning("dispatch marker unavailable; scheduling anyway", exc_info=True)
    try:
        dispatch_notifications.delay()
    except Exception:  # broker errors come from kombu, redis or the socket layer alike
        logger.warning(
            "could not schedule notification dispatch; the sweep will deliver", exc_info=True
        )
        claim_dispatch()  # nothing is queued after all: let the next wake-up try again


WAKE_UP = Coalesced(publish_wake_up, delay=WAKE_UP_SECONDS, name="outbox-wake-up")


def claim_dispatch() -> None:
    """Called by the dispatch task before it claims rows: later wake-ups publish again."""
    try:
        cache.delete(DISPATCH_PENDING_KEY)
    except Exception:  # cache down: schedule_dispatch publishes unconditionally then
        logger.warning("could not clear the dispatch marker", exc_info=True)


def _spec(event: str, audience: Audience) -> EventSpec:
    spec = EVENTS.get(event)
    if spec is None or spec.audience != audience:
        raise UnknownNotificationEvent(
            f"{event!r} is not a {audience} notification event.",
            details={"event": event, "known": sorted(EVENTS)},
        )
    return spec


def _checked_context(spec: EventSpec, context: dict[str, Any]) -> dict[str, Any]:
    missing = sorted(spec.required_context - context.keys())
    if missing:
        raise NotificationContextInvalid(
            f"The {spec.name} notification needs {', '.join(missing)}.",
            details={"event": spec.name, "missing": missing},
        )
    try:
        # What is stored is what gets rendered: Decimals become strings here, once.
        return json.loads(json.dumps(context, cls=DjangoJSONEncoder))
    except TypeError as exc:
        raise NotificationContextInvalid(
            f"The {spec.name} notification context is not JSON: {exc}",
            details={"event": spec.name},
        ) from exc


def _checked_email(raw: str) -> str:
    address = raw.strip()
    try:
        validate_email(address)
    except ValidationError as exc:
        raise InvalidRecipient(
            f"{raw!r} is not a valid email address.", details={"email": raw}
        ) from exc
    return address


def _checked_phone(raw: str) -> str:
    try:
        return normalize_phone(raw)
    except ValidationError as exc:
        raise InvalidRecipient(
            f"{raw!r} is not a valid phone number.", details={"phone": raw}
        ) from exc


def _insert(
    spec: EventSpec,
    context: dict[str, Any],
    rows: list[tuple[str, str, str]],
    *,
    fetch_rows: bool = True,
) -> list[Notification]:
    too_long = [key for _, _, key in rows if len(key) > DEDUP_KEY_MAX_LENGTH]
    if too_long:
        raise NotificationContextInvalid(
            f"A notification dedup key is longer than {DEDUP_KEY_MAX_LENGTH} characters.",
            details={"event": spec.name, "dedup_key": too_long[0]},
        )
    now = timezone.now()
    # One INSERT … ON CONFLICT DO NOTHING in the caller's transaction: it cannot fail on a
    # duplicate, so no savepoint is needed (checkout calls this while holding row locks).
    with joined_transaction():
        sql.insert(
            [
                Notification(
                    channel=channel,
                    recipient=recipient,
                    template=spec.name,
                    context=context,
                    dedup_key=key,
                    next_attempt_at=now,
                )
                for channel, recipient, key in rows
            ],
            ignore_conflicts=True,  # ON CONFLICT DO NOTHING: the same event never twice
        )
        transaction.on_commit(schedule_dispatch)
        if not fetch_rows:
            return []
        keys = [key for _, _, key in rows]
        return list(Notification.objects.filter(dedup_key__in=keys).order_by("pk"))
