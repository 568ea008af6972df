"""Celery tasks of the payments app: thin wrappers over payments.services."""

import logging
from datetime import timedelta

from celery import shared_task

from payments import maintenance, services
from payments.providers.errors import GatewayUnavailable
from shop.platform_settings import get_setting

logger = logging.getLogger(__name__)

RETRY_DELAYS = (5, 30, 120, 600, 1800)


@shared_task(bind=True, max_retries=len(RETRY_DELAYS), acks_late=True)
def process_webhook_event(self, event_id: int) -> str:
    """Apply a stored webhook. Deferred events and gateway outages are retried with backoff;
    after the last retry the row stays unprocessed for the re-drive and staff."""
    try:
        return services.process_webhook_event(event_id=event_id)
    except (services.Deferred, GatewayUnavailable) as exc:
        delay = RETRY_DELAYS[min(self.request.retries, len(RETRY_DELAYS) - 1)]
        raise self.retry(exc=exc, countdown=delay) from exc


# --- periodic (beat) tasks: routed to the `money` queue like every payments.* task ----------
@shared_task(name="payments.redrive_stuck_webhooks", ignore_result=True)
def redrive_stuck_webhooks(limit: int = 500) -> int:
    """Queue verified webhook events still unprocessed after ops.redrive_webhooks_after_minutes."""
    minutes = get_setting("ops.redrive_webhooks_after_minutes")
    count = services.redrive_stuck_webhooks(older_than=timedelta(minutes=minutes), limit=limit)
    logger.info("redrive_stuck_webhooks: queued=%d older_than_minutes=%d", count, minutes)
    return count


@shared_task(
    name="payments.reconcile_pending_payments",
    ignore_result=True,
    soft_time_limit=540,
    time_limit=600,  # up to 100 gateway calls, each with its own timeouts
)
def reconcile_pending_payments(limit: int = 100) -> dict[str, object]:
    """Verify payments pending longer than payments.reconcile_after_minutes with the gateway."""
    minutes = get_setting("payments.reconcile_after_minutes")
    report = maintenance.reconcile_pending_payments(
        older_than=timedelta(minutes=minutes), limit=limit
    )
    logger.info(
        "reconcile_pending_payments: checked=%d errors=%d skipped=%d statuses=%s",
        report.checked, report.errors, report.skipped, dict(report.statuses),
    )  # fmt: skip
    return report.as_dict()


@shared_task(
    name="payments.reconcile_pending_refunds",
    ignore_result=True,
    soft_time_limit=540,
    time_limit=600,  # up to 100 gateway calls, each with its own timeouts
)
def reconcile_pending_refunds(limit: int = 100) -> dict[str, object]:
    """Look pending refunds up at the gateway; flag the orders of those nobody can settle."""
    report = services.reconcile_pending_refunds(
        older_than=timedelta(minutes=get_setting("payments.reconcile_refunds_after_minutes")),
        attention_after=timedelta(hours=get_setting("payments.refund_attention_after_hours")),
        limit=limit,
    )
    logger.info("reconcile_pending_refunds: %s", report.as_dict())
    return report.as_dict()


@shared_task(name="payments.purge_webhook_events", ignore_result=True)
def purge_webhook_events() -> int:
    """Delete processed webhook events older than ops.purge_webhooks_after_days, and refused
    ones older than ops.purge_refused_webhooks_after_days."""
    days = get_setting("ops.purge_webhooks_after_days")
    refused_days = get_setting("ops.purge_refused_webhooks_after_days")
    count = maintenance.purge_processed_webhook_events(older_than=timedelta(days=days))
    refused = maintenance.purge_refused_webhook_events(older_than=timedelta(days=refused_days))
    logger.info(
        "purge_webhook_events: deleted=%d older_than_days=%d refused_deleted=%d "
        "refused_older_than_days=%d",
        count, days, refused, refused_days,
    )  # fmt: skip
    return count + refused


@shared_task(
    name="payments.poll_gateway_disputes",
    ignore_result=True,
    soft_time_limit=540,
    time_limit=600,  # a few paged gateway calls, each with its own timeouts
)
def poll_gateway_disputes() -> dict[str, object]:
    """Queue chargeback states Flutterwave lists (it sends no dispute webhooks)."""
    report = maintenance.poll_gateway_disputes()
    logger.info(
        "poll_gateway_disputes: polled=%s seen=%d queued=%d already_known=%d errors=%s",
        report.polled, report.seen, report.queued, report.already_known, report.errors,
    )  # fmt: skip
    return report.as_dict()
