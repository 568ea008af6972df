"""Scrape-time figures of stock locks for /metrics (registered in InventoryConfig.ready)."""

from collections.abc import Iterator

from django.db.models import Count, Sum
from django.utils import timezone
from prometheus_client.core import GaugeMetricFamily, Metric

from inventory.models import InventoryLock, active_lock_q

# Products listed by locked units; the rest are summed under sku="other" (bounded labels).
TOP_PRODUCTS = 50


def inventory_lock_figures() -> Iterator[Metric]:
    now = timezone.now()
    counts = InventoryLock.objects.aggregate(
        active=Count("pk", filter=active_lock_q(now)),
        expired=Count("pk", filter=~active_lock_q(now)),
    )
    locks = GaugeMetricFamily(
        "inventory_locks",
        "Stock locks by state: active (holding stock) or expired (waiting for the sweep).",
        labels=["state"],
    )
    locks.add_metric(["active"], counts["active"])
    locks.add_metric(["expired"], counts["expired"])
    yield locks

    per_product = list(
        InventoryLock.objects.filter(active_lock_q(now))
        .values_list("product__sku")
        .annotate(units=Sum("quantity"))
        .order_by("-units")
    )
    units = GaugeMetricFamily(
        "inventory_locked_units",
        f"Units held by active locks, per product (top {TOP_PRODUCTS}; the rest as 'other').",
        labels=["sku"],
    )
    for sku, held in per_product[:TOP_PRODUCTS]:
        units.add_metric([sku], held)
    rest = sum(held for _, held in per_product[TOP_PRODUCTS:])
    if rest:
        units.add_metric(["other"], rest)
    yield units
