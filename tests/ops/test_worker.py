"""The beat tasks on a real Celery worker (a subprocess on real Redis and the test database):
each task sent twice at once, a worker killed mid-task, and Redis down."""

import socket
from collections import Counter

import pytest
from django.conf import settings as django_settings
from django.db import connection, transaction

from inventory.models import InventoryLock
from inventory.tasks import sweep_expired_locks
from notifications import services as notifications
from notifications.models import Notification
from notifications.tasks import dispatch_notifications
from orders.models import IdempotencyKey, Order, OrderEvent
from orders.tasks import archive_finished_orders, expire_overdue_orders, purge_idempotency_keys
from tests.conftest import client_for
from tests.factories import AddressFactory, ProductFactory, UserFactory
from tests.notifications.samples import SAMPLE_CONTEXTS
from tests.ops import builders
from tests.ops.worker import broker_at, running_worker, tasks_sent_to_broker, wait_for
from tests.orders.helpers import fill_cart

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker):
    """Two pool processes, so two copies of a task really run at the same time."""
    with django_db_blocker.unblock(), running_worker(pool="prefork", concurrency=2) as worker:
        yield worker


def queue_notifications(count: int, monkeypatch) -> None:
    # Queued as if the broker had been down: only the outbox sweep sends them.
    monkeypatch.setattr(notifications, "schedule_dispatch", lambda: None)
    for i in range(count):
        notifications.enqueue(
            event="order_placed",
            email=f"buyer{i}@example.com",
            phone=None,
            context=SAMPLE_CONTEXTS["order_placed"],
            dedup_key=f"order_placed:W-{i}",
        )


def event_kinds(orders) -> Counter:
    return Counter(
        tuple(OrderEvent.objects.filter(order=o).values_list("kind", flat=True)) for o in orders
    )


def test_every_beat_task_sent_twice_at_once_does_its_work_exactly_once(worker, monkeypatch):
    builders.expired_locks(3000)
    overdue = builders.overdue_orders(5)
    old_finished = builders.finished_orders(4, days_ago=120)
    builders.idempotency_keys(50, hours_ago=48)
    builders.idempotency_keys(2, hours_ago=1)
    queue_notifications(6, monkeypatch)
    mine = Notification.objects.filter(dedup_key__startswith="order_placed:W-")
    assert mine.filter(status="queued").count() == 6

    for task in (
        sweep_expired_locks,
        expire_overdue_orders,
        archive_finished_orders,
        purge_idempotency_keys,
        dispatch_notifications,
    ):
        worker.send(task)
        worker.send(task)

    def all_done() -> bool:
        return (
            InventoryLock.objects.count() == 0
            and Order.objects.filter(state="cancelled", pk__in=[o.pk for o in overdue]).count() == 5
            and Order.objects.filter(state="archived").count() == 4
            and IdempotencyKey.objects.count() == 2
            and mine.filter(status="sent").count() == 6
        )

    wait_for(all_done, timeout=60, what="the beat tasks to finish on the worker")
    assert event_kinds(overdue) == {("placed", "expired"): 5}
    assert Counter(
        OrderEvent.objects.filter(order__in=old_finished, kind="archived").values_list(
            "order_id", flat=True
        )
    ) == {o.pk: 1 for o in old_finished}
    assert set(mine.values_list("attempts", flat=True)) == {1}


def _a_backend_waits_for_a_row_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


def test_a_worker_killed_mid_task_has_the_task_redone_without_doubling_any_order():
    overdue = builders.overdue_orders(6)  # expired oldest first: the task takes them in order
    blocker = overdue[3]

    with running_worker(pool="prefork", concurrency=1) as worker:
        with transaction.atomic():
            # Hold the 4th order: the task expires three, then waits for this row lock.
            Order.objects.select_for_update().get(pk=blocker.pk)
            worker.send(expire_overdue_orders, batch_size=2)
            wait_for(
                lambda: (
                    Order.objects.filter(state="cancelled").count() == 3
                    and _a_backend_waits_for_a_row_lock()
                ),
                what="the task to expire three orders and block on the fourth",
            )
            killed = worker.kill_pool_children()
        # Rejected and requeued (acks_late + reject_on_worker_lost), run again by a new child.
        wait_for(
            lambda: Order.objects.filter(state="cancelled").count() == 6,
            timeout=60,
            what="the re-delivered task to expire the rest",
        )
        log = worker.log()

    assert len(killed) == 1
    assert "WorkerLostError" in log or "exited prematurely" in log
    assert event_kinds(overdue) == {("placed", "expired"): 6}
    assert InventoryLock.objects.count() == 0


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_with_redis_down_checkout_succeeds_and_the_outbox_sweep_sends_later(worker, settings):
    product = ProductFactory(stock=5)
    customer = UserFactory()
    address = AddressFactory(customer=customer)
    fill_cart(customer, [(product, 2)])
    dead_redis = f"redis://127.0.0.1:{closed_port()}/0"
    settings.CACHES = {
        "default": {
            **django_settings.CACHES["default"],
            "LOCATION": dead_redis,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }

    with tasks_sent_to_broker(), broker_at(dead_redis):
        response = client_for(customer).post(
            "/api/checkout/",
            {"payment_method": "bank_transfer", "address_id": address.pk},
            format="json",
            HTTP_IDEMPOTENCY_KEY="redis-down-1",
        )
        with transaction.atomic():  # the dispatch scheduled after commit cannot reach Redis
            notifications.enqueue(
                event="order_placed",
                email="ada@example.com",
                phone=None,
                context=SAMPLE_CONTEXTS["order_placed"],
                dedup_key="order_placed:REDIS-DOWN",
            )

    assert response.status_code == 201, response.json()
    order = Order.objects.get(number=response.json()["number"])
    assert (order.state, order.total) == ("pending_payment", 2 * product.price)
    assert list(InventoryLock.objects.values_list("owner", "quantity")) == [(order.number, 2)]
    queued = Notification.objects.filter(status="queued")
    # the order's own "placed" messages and ours: all waiting in the outbox, none lost
    assert queued.filter(dedup_key="order_placed:REDIS-DOWN:email").count() == 1
    assert queued.filter(dedup_key__startswith=f"order_placed:{order.number}").exists()
    waiting = queued.count()

    worker.send(dispatch_notifications)  # Redis is back: the beat sweep runs

    wait_for(
        lambda: Notification.objects.filter(status="sent").count() == waiting,
        what="the outbox sweep to send the queued email",
    )
