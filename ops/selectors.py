"""The shop's health figures, read from the database.

One function per figure, shared by ``shop_report``, the scrape-time gauges (``ops.gauges``),
the beat alert check (``ops.health_alerts``) and the staff dashboard, so every view of "the
payment success rate" is the same query.
"""

from datetime import date, datetime, timedelta
from typing import Any

from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone

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


def revenue_paid_since(since: datetime) -> list[dict[str, Any]]:
    """Orders paid since ``since`` (whatever their state now), per currency: count and total."""
    rows = (
        Order.objects.filter(paid_at__gte=since)
        .values("currency")
        .annotate(orders=Count("pk"), total=Sum("total"))
        .order_by("currency")
    )
    return [{"currency": r["currency"], "orders": r["orders"], "total": r["total"]} for r in rows]


def orders_by_state() -> dict[str, int]:
    """Every state with its order count (0 included), in the state machine's order."""
    counts = dict(Order.objects.values_list("state").annotate(n=Count("pk")).order_by())
    return {state: counts.get(state, 0) for state in OrderState.values}


def active_locks(now: datetime) -> dict[str, int]:
    figures = InventoryLock.objects.filter(active_lock_q(now)).aggregate(
        locks=Count("pk"), units=Sum("quantity")
    )
    return {"locks": figures["locks"], "units": figures["units"] or 0}


def orders_per_day(*, days: int, now: datetime) -> list[tuple[date, int]]:
    """Orders created on each of the last ``days`` local days (today included, 0s included)."""
    today = timezone.localdate(now)
    first = today - timedelta(days=days - 1)
    counts = dict(
        Order.objects.filter(created_at__date__gte=first)
        .annotate(day=TruncDate("created_at"))
        .values_list("day")
        .annotate(n=Count("pk"))
        .order_by()
    )
    return [
        (first + timedelta(days=n), counts.get(first + timedelta(days=n), 0)) for n in range(days)
    ]
