"""Scrape-time figures this app provides itself (other apps register their own)."""

from collections.abc import Iterator

from django.db.models import Count
from prometheus_client.core import GaugeMetricFamily, Metric

from observability.metrics import register_gauge_source

# `sent` rows are history, not queue; counting them would scan an ever-growing table.
_QUEUE_STATUSES = ("queued", "sending", "failed", "dead")


def notification_queue_depth() -> Iterator[Metric]:
    from notifications.models import Notification

    counts = dict(
        Notification.objects.filter(status__in=_QUEUE_STATUSES)
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    family = GaugeMetricFamily(
        "notification_queue_depth",
        "Notifications in the outbox not yet sent, by status (dead ones need attention).",
        labels=["status"],
    )
    for status in _QUEUE_STATUSES:
        family.add_metric([status], counts.get(status, 0))
    yield family


def register_builtin_sources() -> None:
    from observability.shared_counters import shared_counter_totals
    from observability.task_metrics import celery_task_totals

    register_gauge_source(notification_queue_depth, name="notifications")
    register_gauge_source(celery_task_totals, name="celery_tasks")
    register_gauge_source(shared_counter_totals, name="shared_counters")
