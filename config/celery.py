"""The Celery application, configured from Django settings (CELERY_* names)."""

import os

from celery import Celery, signals
from django.core.exceptions import ImproperlyConfigured

from config.startup import require_secret_key

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("shop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

import observability.celery_signals  # noqa: E402, F401 - request ids into tasks, task metrics


@signals.worker_init.connect
@signals.beat_init.connect
def _refuse_to_start_without_a_secret_key(**kwargs: object) -> None:
    # At start-up, not at import: every `import config` loads this app (manage.py included).
    # SystemExit, as Celery logs and ignores an exception raised by a signal handler.
    try:
        require_secret_key()
    except ImproperlyConfigured as exc:
        raise SystemExit(f"Configuration error: {exc}") from exc
