"""The shop's four health figures (``manage.py shop_report``): read-only, one query each."""

from datetime import datetime, timedelta
from typing import Any

from django.utils import timezone

from core.db.replica import replica_reads
from ops.selectors import (
    locked_units_per_product,
    orders_pending_payment_created_since,
    payment_success_rate_since,
    webhook_events_since,
)


def health_report(*, now: datetime | None = None) -> dict[str, Any]:
    with replica_reads():  # read-only figures: the replica serves them when there is one
        return _report(now or timezone.now())


def _report(now: datetime) -> dict[str, Any]:
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
