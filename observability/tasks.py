import logging

from celery import shared_task

logger = logging.getLogger(__name__)


@shared_task(name="observability.ping")
def ping() -> str:
    """A worker smoke test: `celery -A config call observability.ping`, then look for the log
    line (it carries the request id of whoever queued it)."""
    logger.info("ping received")
    return "pong"
