"""Scrape-time figures this app provides itself (other apps register their own from their
AppConfig.ready: inventory, notifications, ops)."""

from observability.metrics import register_gauge_source


def register_builtin_sources() -> None:
    from observability.shared_counters import shared_counter_totals
    from observability.task_metrics import celery_task_totals

    register_gauge_source(celery_task_totals, name="celery_tasks")
    register_gauge_source(shared_counter_totals, name="shared_counters")
