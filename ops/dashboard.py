"""The staff dashboard in the admin (``/admin/dashboard/``): the health figures at a glance.

Every figure comes from the selectors that /metrics and the alert check use, so the page,
the graphs and the alerts always agree. A fixed number of queries, whatever the data.
"""

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.utils import timezone

from core.db.replica import replica_reads
from notifications.selectors import queue_depth_by_status
from ops import selectors

CHART_DAYS = 14
CHART_WIDTH, CHART_HEIGHT, CHART_LABEL_SPACE = 560, 160, 18


@dataclass(frozen=True)
class Bar:
    day: date
    count: int
    x: int
    y: int
    width: int
    height: int


def chart_bars(per_day: list[tuple[date, int]]) -> list[Bar]:
    """Bar geometry for an inline SVG (server-side; the admin loads no chart library)."""
    tallest = max((count for _, count in per_day), default=0) or 1
    slot = CHART_WIDTH // max(len(per_day), 1)
    plot_height = CHART_HEIGHT - CHART_LABEL_SPACE
    bars = []
    for n, (day, count) in enumerate(per_day):
        height = round(count * plot_height / tallest)
        bars.append(
            Bar(day, count, x=n * slot + 2, y=plot_height - height, width=slot - 4, height=height)
        )
    return bars


def dashboard_figures(*, now: datetime | None = None) -> dict[str, Any]:
    with replica_reads():  # figures a few seconds old are fine here: read them off the replica
        return _figures(now or timezone.now())


def _figures(now: datetime) -> dict[str, Any]:
    today_start = timezone.localtime(now).replace(hour=0, minute=0, second=0, microsecond=0)
    hour_ago = now - timedelta(hours=1)
    per_day = selectors.orders_per_day(days=CHART_DAYS, now=now)
    return {
        "now": now,
        "revenue_today": selectors.revenue_paid_since(today_start),
        "orders_by_state": selectors.orders_by_state(),
        "payments_1h": selectors.payment_success_rate_since(hour_ago),
        "payments_24h": selectors.payment_success_rate_since(now - timedelta(hours=24)),
        "pending_payment_last_hour": selectors.orders_pending_payment_created_since(hour_ago),
        "locks": selectors.active_locks(now),
        "webhooks": selectors.webhook_failures_since(hour_ago),
        "notification_queue": queue_depth_by_status(),
        "chart": {
            "bars": chart_bars(per_day),
            "total": sum(count for _, count in per_day),
            "width": CHART_WIDTH,
            "height": CHART_HEIGHT,
            "label_y": CHART_HEIGHT - 4,
        },
    }


def dashboard_view(request: HttpRequest) -> HttpResponse:
    context = {
        **admin.site.each_context(request),
        "title": "Shop dashboard",
        **dashboard_figures(),
    }
    return TemplateResponse(request, "admin/ops/dashboard.html", context)


# admin_view: staff only (others are sent to the admin login), never cached.
staff_dashboard = admin.site.admin_view(dashboard_view)
