"""Celery entry points of the inventory app (scheduled by beat: CELERY_BEAT_SCHEDULE)."""

import logging

from celery import shared_task

from inventory import services

logger = logging.getLogger(__name__)


@shared_task(name="inventory.sweep_expired_locks", ignore_result=True)
def sweep_expired_locks(batch_size: int = services.SWEEP_BATCH_SIZE, max_batches: int = 100) -> int:
    """Delete expired stock locks in bounded batches (they already stopped counting)."""
    report = services.sweep_expired_batches(batch_size=batch_size, max_batches=max_batches)
    logger.info("sweep_expired_locks: deleted=%d batches=%d", report.deleted, report.batches)
    return report.deleted
