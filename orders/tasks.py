"""Celery entry points of the orders app (scheduled by beat: CELERY_BEAT_SCHEDULE)."""

import logging
from datetime import timedelta

from celery import shared_task

from orders import services
from orders.idempotency import purge_expired_keys
from shop.platform_settings import get_setting

logger = logging.getLogger(__name__)


@shared_task(name="orders.expire_overdue_orders", ignore_result=True)
def expire_overdue_orders(batch_size: int = 200, max_batches: int = 10) -> int:
    """Cancel unpaid orders past their expiry (reason ``expired``), releasing their stock."""
    count = services.expire_overdue_orders(batch_size=batch_size, max_batches=max_batches)
    logger.info("expire_overdue_orders: expired=%d", count)
    return count


@shared_task(name="orders.archive_finished_orders", ignore_result=True)
def archive_finished_orders(batch_size: int = 200, max_batches: int = 50) -> int:
    """Archive delivered/refunded/cancelled orders older than ``ops.archive_after_days``."""
    days = get_setting("ops.archive_after_days")
    count = services.archive_finished_orders(
        older_than=timedelta(days=days), batch_size=batch_size, max_batches=max_batches
    )
    logger.info("archive_finished_orders: archived=%d older_than_days=%d", count, days)
    return count


@shared_task(name="orders.purge_idempotency_keys", ignore_result=True)
def purge_idempotency_keys() -> int:
    """Delete checkout idempotency keys past their 24 h lifetime."""
    count = purge_expired_keys()
    logger.info("purge_idempotency_keys: deleted=%d", count)
    return count
