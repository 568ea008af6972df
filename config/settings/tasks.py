"""Background work: Celery (broker, queues, limits) and beat's schedule."""

from typing import Any

from kombu import Queue

from config.env import env_int, env_str
from config.settings.data import REDIS_URL

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Seconds before a broker message whose worker vanished without acking is delivered again.
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": env_int("CELERY_VISIBILITY_TIMEOUT", 3600)}
# Workers log through the same LOGGING (JSON, request ids) instead of Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Queues, beat schedule, cron URL ---------------------------------------------------------
# Payment tasks go to their own `money` queue so a backlog of sweeps or emails never delays
# them; run a worker for it with `-Q money` (prefetch is 1 everywhere, see above).
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {"payments.*": {"queue": "money"}}
# Every queue a task can be sent to is declared: a plain `celery -A config worker` (no -Q)
# consumes them all; `-Q money` picks a subset (a dedicated payments worker).
CELERY_TASK_QUEUES = [
    Queue(name, routing_key=name)
    for name in sorted(
        {CELERY_TASK_DEFAULT_QUEUE, *(r["queue"] for r in CELERY_TASK_ROUTES.values())}
    )
]
# Bearer token of GET /api/cron/cleanup/; unset keeps the endpoint closed (503).
CRON_SECRET = env_str("CRON_SECRET")
# Beat intervals in seconds. Exactly one `celery beat` may run (see README "Operations").
BEAT_SWEEP_LOCKS_SECONDS = env_int("BEAT_SWEEP_LOCKS_SECONDS", 60)
BEAT_EXPIRE_ORDERS_SECONDS = env_int("BEAT_EXPIRE_ORDERS_SECONDS", 300)
BEAT_DISPATCH_NOTIFICATIONS_SECONDS = env_int("BEAT_DISPATCH_NOTIFICATIONS_SECONDS", 60)
BEAT_PURGE_IDEMPOTENCY_KEYS_SECONDS = env_int("BEAT_PURGE_IDEMPOTENCY_KEYS_SECONDS", 3600)
BEAT_ARCHIVE_ORDERS_SECONDS = env_int("BEAT_ARCHIVE_ORDERS_SECONDS", 86400)
BEAT_REDRIVE_WEBHOOKS_SECONDS = env_int("BEAT_REDRIVE_WEBHOOKS_SECONDS", 120)
BEAT_RECONCILE_PAYMENTS_SECONDS = env_int("BEAT_RECONCILE_PAYMENTS_SECONDS", 300)
BEAT_RECONCILE_REFUNDS_SECONDS = env_int("BEAT_RECONCILE_REFUNDS_SECONDS", 300)
BEAT_PURGE_WEBHOOK_EVENTS_SECONDS = env_int("BEAT_PURGE_WEBHOOK_EVENTS_SECONDS", 86400)
BEAT_POLL_DISPUTES_SECONDS = env_int("BEAT_POLL_DISPUTES_SECONDS", 900)
BEAT_PURGE_EXPIRED_TOKENS_SECONDS = env_int("BEAT_PURGE_EXPIRED_TOKENS_SECONDS", 3600)
BEAT_CHECK_HEALTH_ALERTS_SECONDS = env_int("BEAT_CHECK_HEALTH_ALERTS_SECONDS", 300)
# Thresholds of ops.check_health_alerts: the same as deploy/prometheus/alerts.yml, which needs
# editing too if these change.
HEALTH_ALERT_PAYMENT_SUCCESS_MIN_PERCENT = env_int("HEALTH_ALERT_PAYMENT_SUCCESS_MIN_PERCENT", 90)
HEALTH_ALERT_WEBHOOK_FAILURE_MAX_PERCENT = env_int("HEALTH_ALERT_WEBHOOK_FAILURE_MAX_PERCENT", 5)
HEALTH_ALERT_LOCK_EXPIRY_MAX_PERCENT = env_int("HEALTH_ALERT_LOCK_EXPIRY_MAX_PERCENT", 20)


def _every(seconds: int, task: str) -> dict[str, Any]:
    # A run that could not start before the next one is due is dropped, not stacked.
    return {"task": task, "schedule": float(seconds), "options": {"expires": seconds}}


CELERY_BEAT_SCHEDULE = {
    "sweep-expired-locks": _every(BEAT_SWEEP_LOCKS_SECONDS, "inventory.sweep_expired_locks"),
    "expire-overdue-orders": _every(BEAT_EXPIRE_ORDERS_SECONDS, "orders.expire_overdue_orders"),
    "dispatch-notifications": _every(
        BEAT_DISPATCH_NOTIFICATIONS_SECONDS, "notifications.dispatch_notifications"
    ),
    "purge-idempotency-keys": _every(
        BEAT_PURGE_IDEMPOTENCY_KEYS_SECONDS, "orders.purge_idempotency_keys"
    ),
    "archive-finished-orders": _every(
        BEAT_ARCHIVE_ORDERS_SECONDS, "orders.archive_finished_orders"
    ),
    "redrive-stuck-webhooks": _every(
        BEAT_REDRIVE_WEBHOOKS_SECONDS, "payments.redrive_stuck_webhooks"
    ),
    "reconcile-pending-payments": _every(
        BEAT_RECONCILE_PAYMENTS_SECONDS, "payments.reconcile_pending_payments"
    ),
    "reconcile-pending-refunds": _every(
        BEAT_RECONCILE_REFUNDS_SECONDS, "payments.reconcile_pending_refunds"
    ),
    "purge-webhook-events": _every(
        BEAT_PURGE_WEBHOOK_EVENTS_SECONDS, "payments.purge_webhook_events"
    ),
    "poll-gateway-disputes": _every(BEAT_POLL_DISPUTES_SECONDS, "payments.poll_gateway_disputes"),
    "check-health-alerts": _every(BEAT_CHECK_HEALTH_ALERTS_SECONDS, "ops.check_health_alerts"),
    "purge-expired-tokens": _every(
        BEAT_PURGE_EXPIRED_TOKENS_SECONDS, "accounts.purge_expired_tokens"
    ),
}
