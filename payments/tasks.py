"""Celery tasks of the payments app: thin wrappers over payments.services."""

from celery import shared_task

from payments import services
from payments.providers.errors import GatewayUnavailable

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
