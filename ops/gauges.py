"""The seed's health figures as scrape-time gauges (registered in OpsConfig.ready).

Locked units per product are the inventory app's own gauge (``inventory_locked_units``).
A ratio with nothing to divide (no settled payment, no webhook in the window) is left out
rather than reported as 0 or 1, so an alert never fires on an empty hour.
"""

from collections.abc import Iterator
from datetime import timedelta

from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from ops.selectors import (
    orders_pending_payment_created_since,
    payment_success_rate_since,
    webhook_failures_since,
)

WINDOWS = {"1h": timedelta(hours=1), "24h": timedelta(hours=24)}


def health_figures() -> Iterator[Metric]:
    now = timezone.now()
    ratio = GaugeMetricFamily(
        "shop_payment_success_ratio",
        "Succeeded / settled payments started in the window (absent when none settled).",
        labels=["window"],
    )
    settled = GaugeMetricFamily(
        "shop_payments_settled",
        "Payments started in the window that settled (succeeded, failed or abandoned).",
        labels=["window"],
    )
    for window, length in WINDOWS.items():
        figures = payment_success_rate_since(now - length)
        settled.add_metric([window], figures["settled"])
        if figures["success_rate"] is not None:
            ratio.add_metric([window], figures["success_rate"])
    yield ratio
    yield settled

    yield GaugeMetricFamily(
        "shop_orders_pending_payment_recent",
        "Orders still pending payment among those created in the last hour.",
        value=orders_pending_payment_created_since(now - WINDOWS["1h"]),
    )

    webhooks = webhook_failures_since(now - WINDOWS["1h"])
    yield GaugeMetricFamily(
        "shop_webhook_events_failing",
        "Valid webhook events whose processing failed and that are still unprocessed.",
        value=webhooks["failing_total"],
    )
    received = GaugeMetricFamily(
        "shop_webhook_events_received_recent",
        "Valid webhook events received in the last hour.",
        value=webhooks["received"],
    )
    yield received
    failure_ratio = GaugeMetricFamily(
        "shop_webhook_failure_ratio",
        "Share of the last hour's valid webhook events whose processing failed "
        "(absent when none arrived).",
        labels=["window"],
    )
    if webhooks["failure_rate"] is not None:
        failure_ratio.add_metric(["1h"], webhooks["failure_rate"])
    yield failure_ratio
