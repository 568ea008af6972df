"""Scrape-time figures this app provides itself (other apps register their own)."""

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from observability.metrics import register_gauge_source


def notification_queue_depth() -> Iterator[Metric]:
    from notifications.selectors import queue_depth_by_status

    family = GaugeMetricFamily(
        "notification_queue_depth",
        "Notifications in the outbox not yet sent, by status (dead ones need attention).",
        labels=["status"],
    )
    for status, depth in queue_depth_by_status().items():
        family.add_metric([status], depth)
    yield family


def register_builtin_sources() -> None:
    from observability.shared_counters import shared_counter_totals
    from observability.task_metrics import celery_task_totals

    register_gauge_source(notification_queue_depth, name="notifications")
    register_gauge_source(celery_task_totals, name="celery_tasks")
    register_gauge_source(shared_counter_totals, name="shared_counters")
