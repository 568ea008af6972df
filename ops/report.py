"""The shop's health figures (``manage.py shop_report``): read-only, one query each."""

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Sum
from django.utils import timezone

from inventory.models import InventoryLock, active_lock_q
from orders.models import Order
from orders.states import OrderState


def orders_pending_payment_created_since(since: datetime) -> int:
    return Order.objects.filter(state=OrderState.PENDING_PAYMENT, created_at__gte=since).count()


def locked_units_per_product(now: datetime) -> list[dict[str, Any]]:
    """Units held by active (unexpired) locks, per product, most held first."""
    rows = (
        InventoryLock.objects.filter(active_lock_q(now))
        .values("product_id", "product__sku", "product__name")
        .annotate(units=Sum("quantity"))
        .order_by("-units", "product_id")
    )
    return [
        {
            "product_id": row["product_id"],
            "sku": row["product__sku"],
            "name": row["product__name"],
            "locked_units": row["units"],
        }
        for row in rows
    ]


def health_report(*, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    return {
        "generated_at": now.isoformat(),
        "orders_pending_payment_last_hour": orders_pending_payment_created_since(
            now - timedelta(hours=1)
        ),
        "locked_units_per_product": locked_units_per_product(now),
    }
