"""The cleanup run shared by the ``cleanup`` command, the cron URL and (piecewise) beat.

It only orchestrates: each step is a service of the app that owns the rows
(``inventory``, ``orders``). Every step is bounded and safe to run concurrently, so a cron
run overlapping a beat run is harmless.
"""

import logging
from dataclasses import asdict, dataclass
from datetime import datetime

from django.utils import timezone

from inventory import services as inventory
from inventory.models import InventoryLock
from orders import services as orders
from orders.idempotency import KEY_LIFETIME, purge_expired_keys
from orders.models import IdempotencyKey, Order
from orders.states import UNPAID_STATES

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CleanupReport:
    expired_locks_deleted: int
    expired_orders_cancelled: int
    idempotency_keys_purged: int
    dry_run: bool = False

    def as_dict(self) -> dict[str, int | bool]:
        return asdict(self)


def run_cleanup(*, dry_run: bool = False, now: datetime | None = None) -> CleanupReport:
    """Cancel overdue unpaid orders (releasing their locks), delete expired locks, purge
    expired idempotency keys. With ``dry_run`` nothing changes and the counts are what a real
    run would do now (at most: a payment landing meanwhile makes an order not due)."""
    now = now or timezone.now()
    if dry_run:
        report = CleanupReport(
            expired_locks_deleted=InventoryLock.objects.filter(expires_at__lte=now).count(),
            expired_orders_cancelled=Order.objects.filter(
                state__in=UNPAID_STATES, expires_at__lte=now
            ).count(),
            idempotency_keys_purged=IdempotencyKey.objects.filter(
                created_at__lte=now - KEY_LIFETIME
            ).count(),
            dry_run=True,
        )
    else:
        # Orders first: expiring them releases their locks, and the sweep then removes every
        # other lock that ran out.
        expired_orders = orders.expire_overdue_orders(now=now)
        report = CleanupReport(
            expired_locks_deleted=inventory.sweep_expired(now=now),
            expired_orders_cancelled=expired_orders,
            idempotency_keys_purged=purge_expired_keys(now=now),
        )
    logger.info(
        "cleanup%s: expired_locks_deleted=%d expired_orders_cancelled=%d "
        "idempotency_keys_purged=%d",
        " (dry run)" if dry_run else "",
        report.expired_locks_deleted,
        report.expired_orders_cancelled,
        report.idempotency_keys_purged,
    )
    return report
