"""The Prometheus alert rules (deploy/prometheus/alerts.yml) as a beat task, for shops
that run no Prometheus: the same figures, read from the same selectors, mailed to staff.

Each alert is sent at most once per clock hour (the ``staff_alert`` dedup key names the
alert and the hour), however often the task runs while the condition holds.
"""

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.utils import timezone

from notifications.events import site_link
from notifications.services import staff_alert
from observability.metrics import INVENTORY_LOCKS_CREATED, INVENTORY_LOCKS_EXPIRED
from ops.selectors import (
    disputes_opened_since,
    payment_success_rate_since,
    webhook_failures_since,
)

logger = logging.getLogger(__name__)

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class HealthAlert:
    name: str
    summary: str
    value: str
    threshold: str


def _percent(ratio: float) -> str:
    return f"{ratio * 100:.1f} %"


def evaluate_health_alerts(*, now: datetime | None = None) -> list[HealthAlert]:
    """The alerts whose condition holds now (nothing is sent)."""
    now = now or timezone.now()
    alerts = []

    payments = payment_success_rate_since(now - HOUR)
    minimum = settings.HEALTH_ALERT_PAYMENT_SUCCESS_MIN_PERCENT / 100
    if payments["success_rate"] is not None and payments["success_rate"] < minimum:
        alerts.append(
            HealthAlert(
                name="payment_success_rate_low",
                summary=f"Payment success rate over the last hour is "
                f"{_percent(payments['success_rate'])} "
                f"({payments['succeeded']} of {payments['settled']} settled payments).",
                value=_percent(payments["success_rate"]),
                threshold=f"at least {_percent(minimum)}",
            )
        )

    webhooks = webhook_failures_since(now - HOUR)
    maximum = settings.HEALTH_ALERT_WEBHOOK_FAILURE_MAX_PERCENT / 100
    if webhooks["failure_rate"] is not None and webhooks["failure_rate"] > maximum:
        alerts.append(
            HealthAlert(
                name="webhook_failures_high",
                summary=f"{webhooks['failed']} of {webhooks['received']} webhook events "
                "received in the last hour failed processing.",
                value=_percent(webhooks["failure_rate"]),
                threshold=f"at most {_percent(maximum)}",
            )
        )

    created = INVENTORY_LOCKS_CREATED.sum_last_hours(24, now=now)
    expired = INVENTORY_LOCKS_EXPIRED.sum_last_hours(24, now=now)
    maximum = settings.HEALTH_ALERT_LOCK_EXPIRY_MAX_PERCENT / 100
    if created and expired / created > maximum:
        alerts.append(
            HealthAlert(
                name="locks_expiring_unpaid",
                summary=f"{expired} stock locks expired unpaid in the last 24 hours, "
                f"against {created} created.",
                value=_percent(expired / created),
                threshold=f"at most {_percent(maximum)}",
            )
        )

    disputes = disputes_opened_since(now - HOUR)
    if disputes:
        alerts.append(
            HealthAlert(
                name="dispute_opened",
                summary=f"{disputes} payment dispute(s) opened in the last hour.",
                value=str(disputes),
                threshold="none",
            )
        )
    return alerts


def check_health_alerts(*, now: datetime | None = None) -> list[str]:
    """Mail staff about every alert that holds, once per alert and hour; returns the names."""
    now = now or timezone.now()
    hour = now.astimezone(timezone.get_default_timezone()).strftime("%Y-%m-%dT%H")
    fired = evaluate_health_alerts(now=now)
    for alert in fired:
        logger.warning("health alert %s: %s", alert.name, alert.summary)
        staff_alert(
            "health_alert",
            {
                "alert": alert.name,
                "summary": alert.summary,
                "value": alert.value,
                "threshold": alert.threshold,
                "dashboard_url": site_link("/admin/dashboard/"),
            },
            dedup_key=f"health_alert:{alert.name}:{hour}",
        )
    return [alert.name for alert in fired]
