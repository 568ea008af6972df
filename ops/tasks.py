"""Celery entry points of the ops app (scheduled by beat: CELERY_BEAT_SCHEDULE)."""

from celery import shared_task

from ops.health_alerts import check_health_alerts as run_check


@shared_task(name="ops.check_health_alerts", ignore_result=True)
def check_health_alerts() -> list[str]:
    """Mail staff about health figures past their thresholds (once per alert per hour)."""
    return run_check()
