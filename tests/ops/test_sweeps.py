"""Every periodic sweep on data built for it: exact counts, bounded batches, and two runs at
the same instant (real threads, own PostgreSQL connections) that split the work without doing
anything twice."""

from collections import Counter
from datetime import timedelta

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory import services as inventory
from inventory.models import InventoryLock
from inventory.selectors import get_available_stocks
from notifications import services as notifications
from notifications.delivery import dispatch_batches
from notifications.models import Notification
from ops.cleanup import CleanupReport, run_cleanup
from orders import services
from orders.idempotency import purge_expired_keys
from orders.models import IdempotencyKey, Order, OrderEvent
from tests.factories import ProductFactory, UserFactory
from tests.notifications.samples import SAMPLE_CONTEXTS
from tests.ops import builders
from tests.orders.helpers import place
from tests.orders.test_checkout_concurrency import run_at_once

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("database_route"),  # straight, then through PgBouncer
]


def kinds_of(order) -> list[str]:
    return list(OrderEvent.objects.filter(order=order).values_list("kind", flat=True))


def test_5000_expired_locks_are_swept_in_five_bounded_batches_and_live_locks_stay():
    product = ProductFactory(stock=5010)
    builders.expired_locks(5000, product=product)
    live = InventoryLock.objects.create(
        product=product, owner="LIVE", quantity=3, expires_at=timezone.now() + timedelta(hours=1)
    )

    with CaptureQueriesContext(connection) as queries:
        report = inventory.sweep_expired_batches(batch_size=1000)

    assert report == inventory.SweepReport(deleted=5000, batches=5)
    deletes = [q["sql"] for q in queries.captured_queries if q["sql"].startswith("DELETE")]
    assert len(deletes) == 6  # five full batches, then one that finds nothing left
    assert all("LIMIT 1000 FOR UPDATE SKIP LOCKED" in sql for sql in deletes)
    assert list(InventoryLock.objects.values_list("pk", flat=True)) == [live.pk]


def test_a_sweep_bounded_by_max_batches_leaves_the_rest_for_the_next_run():
    builders.expired_locks(2500)

    first = inventory.sweep_expired_batches(batch_size=1000, max_batches=2)
    second = inventory.sweep_expired_batches(batch_size=1000, max_batches=2)

    assert (first, second) == (
        inventory.SweepReport(deleted=2000, batches=2),
        inventory.SweepReport(deleted=500, batches=1),
    )
    assert InventoryLock.objects.count() == 0


def test_two_lock_sweeps_at_once_delete_every_expired_lock_exactly_once():
    builders.expired_locks(4000)

    reports = run_at_once(
        [lambda: inventory.sweep_expired_batches(batch_size=500) for _ in range(2)]
    )

    assert sum(r.deleted for r in reports) == 4000
    assert InventoryLock.objects.count() == 0


def test_two_expiry_runs_at_once_cancel_each_overdue_order_once_and_release_its_stock():
    product = ProductFactory(stock=12)
    overdue = builders.overdue_orders(12, product=product)
    assert get_available_stocks([product.pk]) == {product.pk: 0}

    counts = run_at_once([lambda: services.expire_overdue_orders(batch_size=5) for _ in range(2)])

    assert sum(counts) == 12
    for order in overdue:
        order.refresh_from_db()
        assert (order.state, order.expires_at) == ("cancelled", None)
        assert kinds_of(order) == ["placed", "expired"]
    assert InventoryLock.objects.count() == 0
    assert get_available_stocks([product.pk]) == {product.pk: 12}


def test_expiry_leaves_orders_not_yet_due_alone():
    product = ProductFactory(stock=5)
    [due] = builders.overdue_orders(1, product=product)
    not_due = place(UserFactory(), [(product, 2)]).order

    assert services.expire_overdue_orders() == 1
    assert services.expire_overdue_orders() == 0
    due.refresh_from_db()
    not_due.refresh_from_db()
    assert due.state == "cancelled"
    assert not_due.state == "pending_payment"
    assert list(InventoryLock.objects.values_list("owner", "quantity")) == [(not_due.number, 2)]


def test_two_archive_runs_at_once_archive_each_old_finished_order_once():
    old = builders.finished_orders(8, days_ago=100)
    recent = builders.finished_orders(2, days_ago=10)
    [old_unpaid] = builders.overdue_orders(1)
    Order.objects.filter(pk=old_unpaid.pk).update(updated_at=timezone.now() - timedelta(days=200))

    counts = run_at_once(
        [
            lambda: services.archive_finished_orders(older_than=timedelta(days=90), batch_size=3)
            for _ in range(2)
        ]
    )

    assert sum(counts) == 8
    for order in old:
        events = list(
            OrderEvent.objects.filter(order=order, kind="archived").values_list(
                "from_state", "to_state", "actor_type"
            )
        )
        assert events in (
            [("cancelled", "archived", "system")],
            [("delivered", "archived", "system")],
        )
    assert Counter(Order.objects.values_list("state", flat=True)) == {
        "archived": 8,
        "cancelled": 1,
        "delivered": 1,
        "pending_payment": 1,
    }
    assert not OrderEvent.objects.filter(order__in=recent, kind="archived").exists()


def test_two_idempotency_purges_at_once_delete_each_expired_key_once():
    builders.idempotency_keys(3000, hours_ago=25)
    builders.idempotency_keys(5, hours_ago=23)

    counts = run_at_once([lambda: purge_expired_keys(batch_size=500) for _ in range(2)])

    assert sum(counts) == 3000
    assert IdempotencyKey.objects.count() == 5


def test_two_outbox_dispatchers_at_once_send_each_message_once(monkeypatch):
    # Queued as if the broker had been down: nothing dispatches them but the sweep.
    monkeypatch.setattr(notifications, "schedule_dispatch", lambda: None)
    for i in range(20):
        notifications.enqueue(
            event="order_placed",
            email=f"buyer{i}@example.com",
            phone=None,
            context=SAMPLE_CONTEXTS["order_placed"],
            dedup_key=f"order_placed:T-{i}",
        )

    reports = run_at_once([lambda: dispatch_batches(batch_size=3) for _ in range(2)])

    assert sum(r.sent for r in reports) == 20
    assert sorted(m.to[0] for m in mail.outbox) == sorted(
        f"buyer{i}@example.com" for i in range(20)
    )
    assert Notification.objects.filter(status="sent").count() == 20


def test_two_cleanups_at_once_add_up_to_one_cleanup():
    builders.expired_locks(1500)
    overdue = builders.overdue_orders(6)
    builders.idempotency_keys(40, hours_ago=30)

    reports = run_at_once([run_cleanup for _ in range(2)])

    assert CleanupReport(
        expired_locks_deleted=sum(r.expired_locks_deleted for r in reports),
        expired_orders_cancelled=sum(r.expired_orders_cancelled for r in reports),
        idempotency_keys_purged=sum(r.idempotency_keys_purged for r in reports),
    ) == CleanupReport(
        expired_locks_deleted=1500, expired_orders_cancelled=6, idempotency_keys_purged=40
    )
    assert all(kinds_of(order) == ["placed", "expired"] for order in overdue)
    assert InventoryLock.objects.count() == 0
