"""Reads of the outbox used by more than one caller (/metrics, the staff dashboard)."""

from django.db.models import Count

from notifications.models import Notification

# `sent` rows are history, not queue; counting them would scan an ever-growing table.
QUEUE_STATUSES = ("queued", "sending", "failed", "dead")


def queue_depth_by_status() -> dict[str, int]:
    """Notifications not yet sent, per status (every status listed, 0 included)."""
    counts = dict(
        Notification.objects.filter(status__in=QUEUE_STATUSES)
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return {status: counts.get(status, 0) for status in QUEUE_STATUSES}
