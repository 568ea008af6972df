"""The shop's four health figures (``manage.py shop_report``): read-only, one query each."""

from datetime import datetime, timedelta
from typing import Any

from django.db.models import Count, Q, Sum
from django.utils import timezone

from inventory.models import InventoryLock, active_lock_q
from orders.models import Order
from orders.states import OrderState
from payments.models import Payment, PaymentStatus, WebhookEvent

# Settled payments: the customer's attempt ended one way or the other.
_SETTLED = (PaymentStatus.SUCCEEDED, PaymentStatus.FAILED, PaymentStatus.ABANDONED)


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


def payment_success_rate_since(since: datetime) -> dict[str, Any]:
    """Of the payments started since ``since`` that settled, the share that succeeded."""
    counts = dict(
        Payment.objects.filter(created_at__gte=since)
        .values_list("status")
        .annotate(n=Count("pk"))
        .order_by()
    )
    succeeded = counts.get(PaymentStatus.SUCCEEDED, 0)
    settled = sum(counts.get(status, 0) for status in _SETTLED)
    return {
        "success_rate": round(succeeded / settled, 4) if settled else None,
        "succeeded": succeeded,
        "settled": settled,
        "by_status": dict(sorted(counts.items())),
    }


def webhook_events_since(since: datetime) -> list[dict[str, Any]]:
    """Webhook events received since ``since`` per gateway, type and whether processed."""
    rows = (
        WebhookEvent.objects.filter(received_at__gte=since)
        .values("gateway", "event_type", "signature_valid")
        .annotate(
            processed=Count("pk", filter=Q(processed_at__isnull=False)),
            unprocessed=Count("pk", filter=Q(processed_at__isnull=True)),
        )
        .order_by("gateway", "event_type", "-signature_valid")
    )
    return [
        {
            "gateway": row["gateway"],
            "event_type": row["event_type"]
            if row["signature_valid"]
            else "(refused: bad signature)",
            "signature_valid": row["signature_valid"],
            "processed": row["processed"],
            "unprocessed": row["unprocessed"],
        }
        for row in rows
    ]


def health_report(*, now: datetime | None = None) -> dict[str, Any]:
    now = now or timezone.now()
    day_ago = now - timedelta(hours=24)
    return {
        "generated_at": now.isoformat(),
        "payments_last_24h": payment_success_rate_since(day_ago),
        "webhook_events_last_24h": webhook_events_since(day_ago),
        "orders_pending_payment_last_hour": orders_pending_payment_created_since(
            now - timedelta(hours=1)
        ),
        "locked_units_per_product": locked_units_per_product(now),
    }
