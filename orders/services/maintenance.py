"""Periodic order upkeep: archiving finished orders (expiry lives with the lifecycle)."""

from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from orders.events import record_event
from orders.models import Order
from orders.services._base import apply_transition
from orders.states import ActorType, OrderState

S = OrderState

# Orders in these states have nothing left to happen to them but archiving.
ARCHIVABLE_STATES = (S.DELIVERED, S.PARTIALLY_REFUNDED, S.REFUNDED, S.CANCELLED)


def archivable_orders(*, older_than: timedelta, now: datetime | None = None):
    """Finished orders untouched for ``older_than`` (``updated_at``: when they last changed).

    An order flagged ``needs_attention`` (money held for a cancelled order, a refund that
    failed…) is never archived automatically: archived orders leave staff work lists, so the
    flag would be lost from sight. Staff archive it by hand once it is dealt with.
    """
    now = now or timezone.now()
    return Order.objects.filter(
        state__in=ARCHIVABLE_STATES, needs_attention=False, updated_at__lte=now - older_than
    )


def archive_finished_orders(
    *,
    older_than: timedelta,
    now: datetime | None = None,
    batch_size: int = 200,
    max_batches: int = 50,
) -> int:
    """Archive finished orders older than ``older_than``; returns how many were archived.

    Each batch is one transaction that locks its orders with ``FOR UPDATE SKIP LOCKED``: a
    concurrent run (or a staff action holding an order) is skipped, never waited on, and the
    state filter is re-checked on the locked row, so no order is archived twice. Every order
    gets its ``archived`` event in the same transaction.
    """
    now = now or timezone.now()
    total = 0
    for _ in range(max_batches):
        with transaction.atomic():
            batch = list(
                archivable_orders(older_than=older_than, now=now)
                .select_for_update(of=("self",), skip_locked=True)
                .order_by("pk")[:batch_size]
            )
            for order in batch:
                from_state = apply_transition(order, "archive")
                order.save()
                record_event(
                    order=order,
                    kind="archived",
                    from_state=from_state,
                    actor_type=ActorType.SYSTEM,
                    reason=f"finished more than {older_than.days} days ago",
                )
        total += len(batch)
        if len(batch) < batch_size:
            break
    return total
