"""Scrape-time figures of the outbox for /metrics (registered in NotificationsConfig.ready)."""

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from notifications.selectors import queue_depth_by_status


def notification_queue_depth() -> Iterator[Metric]:
    family = GaugeMetricFamily(
        "notification_queue_depth",
        "Notifications in the outbox not yet sent, by status (dead ones need attention).",
        labels=["status"],
    )
    for status, depth in queue_depth_by_status().items():
        family.add_metric([status], depth)
    yield family
