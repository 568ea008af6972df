"""Celery entry points of the accounts app (scheduled by beat: CELERY_BEAT_SCHEDULE)."""

import logging

from celery import shared_task

from accounts import tokens

logger = logging.getLogger(__name__)


@shared_task(name="accounts.purge_expired_tokens", ignore_result=True)
def purge_expired_tokens() -> int:
    """Delete API tokens past their expiry (they already fail authentication)."""
    deleted = tokens.purge_expired()
    logger.info("purge_expired_tokens: deleted=%d", deleted)
    return deleted
