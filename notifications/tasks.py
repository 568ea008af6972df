"""Celery entry points of the notifications app (beat schedules them in the ops config)."""

from celery import shared_task

from notifications.delivery import dispatch_batches
from notifications.services import claim_dispatch


@shared_task(name="notifications.dispatch_notifications", ignore_result=True)
def dispatch_notifications(max_batches: int = 20, batch_size: int = 50) -> dict[str, int]:
    """Deliver due notifications until none are due or ``max_batches`` batches ran."""
    claim_dispatch()
    return dispatch_batches(max_batches=max_batches, batch_size=batch_size).as_dict()
