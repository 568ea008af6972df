"""The shop's health figures, read from the database.

One function per figure, shared by ``shop_report``, the scrape-time gauges (``ops.gauges``),
the beat alert check (``ops.health_alerts``) and the staff dashboard, so every view of "the
payment success rate" is the same query.
"""

from datetime import datetime
from typing import Any

from django.db.models import Count, Q, Sum

from inventory.models import InventoryLock, active_lock_q
from orders.models import Order
from orders.states import OrderState
from payments.models import Dispute, Payment, PaymentStatus, WebhookEvent

# Settled payments: the customer's attempt ended one way or the other.
SETTLED_PAYMENT_STATUSES = (
    PaymentStatus.SUCCEEDED,
    PaymentStatus.FAILED,
    PaymentStatus.ABANDONED,
)

# A valid event the processor tried and could not apply (it stays for the re-drive).
FAILING_WEBHOOK_Q = Q(signature_valid=True, processed_at__isnull=True) & ~Q(last_error="")


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
    settled = sum(counts.get(status, 0) for status in SETTLED_PAYMENT_STATUSES)
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


def webhook_failures_since(since: datetime) -> dict[str, Any]:
    """Valid webhook events received since ``since``, and those whose processing failed
    (unprocessed, with an error); plus every failing event still waiting, of any age."""
    counts = WebhookEvent.objects.aggregate(
        received=Count("pk", filter=Q(signature_valid=True, received_at__gte=since)),
        failed=Count("pk", filter=FAILING_WEBHOOK_Q & Q(received_at__gte=since)),
        failing_total=Count("pk", filter=FAILING_WEBHOOK_Q),
    )
    received, failed = counts["received"], counts["failed"]
    return {
        "received": received,
        "failed": failed,
        "failure_rate": round(failed / received, 4) if received else None,
        "failing_total": counts["failing_total"],
    }


def disputes_opened_since(since: datetime) -> int:
    return Dispute.objects.filter(opened_at__gte=since).count()
