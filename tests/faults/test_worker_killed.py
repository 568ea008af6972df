"""A Celery worker SIGKILLed while it applies a payment event: delivered again, applied once.

Tasks are acknowledged late (``CELERY_TASK_ACKS_LATE``): the broker keeps a message until its
task has finished. The test holds the order's row lock, so the worker stops in the middle of
applying the charge (the webhook row locked, the order not yet), then kills it:

- only the pool process running the task: the worker sees it lost and, with
  ``CELERY_TASK_REJECT_ON_WORKER_LOST``, hands the message back at once;
- the whole worker, main process and pool: nobody is left to hand anything back; Redis
  delivers the unacknowledged message again after ``CELERY_VISIBILITY_TIMEOUT`` to the worker
  started next.

Either way the killed attempt's transaction is rolled back and the next one applies the
event: the order is paid once, the stock deducted once.
"""

import os
import signal
import time
import uuid

import pytest
import redis
import requests
from django.db import connections

from accounts.tokens import issue_token
from orders.models import Order, OrderEvent
from payments.models import Payment, WebhookEvent
from shop.models import Product
from shop.platform_settings import set_setting
from tests.factories import AddressFactory, ProductFactory, UserFactory
from tests.fakes.paystack import FakePaystack
from tests.faults.processes import (
    backends_waiting_on_a_lock,
    child_pids,
    row_locked,
    shop_environment,
)
from tests.ops.worker import wait_for
from tests.orders.helpers import fill_cart
from tests.servers import AppServer, CeleryWorker, PrivateRedis, database_url

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

# The visibility timeout of the worker started after the whole worker was killed: short, so
# the test does not wait the production hour for Redis to deliver the message again.
VISIBILITY_TIMEOUT_SECONDS = 2


@pytest.fixture
def shop(tmp_path):
    set_setting("checkout.allowed_payment_methods", ["paystack"])
    paystack = FakePaystack().start()
    redis_server = PrivateRedis(tmp_path).start()
    env = shop_environment(
        database=database_url(connections["default"].settings_dict),
        redis_url=redis_server.url,
        paystack=paystack,
    )
    server = AppServer(dict(env), workers=1, name="worker-killed").start()
    paystack.webhook_target = server.url("/api/webhooks/paystack/")
    workers: list[CeleryWorker] = []

    def start_worker(**extra: str) -> CeleryWorker:
        workers.append(CeleryWorker({**env, **extra}, concurrency=1).start())
        return workers[-1]

    try:
        yield server, paystack, redis_server, start_worker
    finally:
        for worker in workers:
            worker.stop()
        server.stop()
        redis_server.stop()
        paystack.stop()


def _order_waiting_for_payment(server: AppServer) -> tuple[Order, str, Product]:
    product = ProductFactory.create(stock=10)
    customer = UserFactory.create()
    fill_cart(customer, [(product, 2)])
    address = AddressFactory.create(customer=customer)
    response = requests.post(
        server.url("/api/checkout/"),
        json={"payment_method": "paystack", "address_id": address.pk},
        headers={
            "Authorization": f"Token {issue_token(customer).token}",
            "Idempotency-Key": str(uuid.uuid4()),
        },
        timeout=30,
    )
    assert response.status_code == 201, response.text
    body = response.json()
    return Order.objects.get(pk=body["id"]), body["payment"]["reference"], product


def _assert_paid_once(order: Order, product: Product) -> None:
    wait_for(lambda: Order.objects.get(pk=order.pk).state == "paid", timeout=60, what="order paid")
    wait_for(
        lambda: WebhookEvent.objects.filter(processed_at__isnull=False).exists(),
        what="the event recorded as processed",
    )
    assert WebhookEvent.objects.get().outcome == "paid"
    assert WebhookEvent.objects.count() == 1
    assert OrderEvent.objects.filter(order=order, kind="paid").count() == 1
    assert Payment.objects.get(order=order).status == "succeeded"
    assert Product.objects.get(pk=product.pk).stock == 8


def _kill_while_applying(server, paystack, reference, order, kill) -> None:
    """Deliver the charge webhook, let the worker reach the order's row lock, ``kill()``."""
    db_url = database_url(connections["default"].settings_dict)
    with row_locked(db_url, Order._meta.db_table, order.pk):
        paystack.pay(reference)
        assert [d.status_code for d in paystack.deliveries] == [200]
        wait_for(lambda: backends_waiting_on_a_lock(db_url), what="the worker to wait on the order")
        kill()
    # The lock is released: the killed attempt's backend finishes its statement, finds its
    # client gone and rolls back; nothing of it was committed.


def test_a_killed_pool_process_hands_the_event_back_and_it_is_applied_once(shop):
    server, paystack, _, start_worker = shop
    worker = start_worker()
    order, reference, product = _order_waiting_for_payment(server)
    assert worker.process is not None
    killed: list[int] = []

    def kill_the_pool_process() -> None:
        for pid in child_pids(worker.process.pid):
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)

    _kill_while_applying(server, paystack, reference, order, kill_the_pool_process)

    _assert_paid_once(order, product)
    assert killed  # the process that was applying it
    assert worker.process.poll() is None  # the worker itself lived on and ran it again
    assert "WorkerLostError" in worker.log()


def test_a_worker_killed_whole_leaves_the_event_to_be_delivered_again_and_applied_once(shop):
    server, paystack, redis_server, start_worker = shop
    first = start_worker()
    order, reference, product = _order_waiting_for_payment(server)
    assert first.process is not None

    def kill_the_whole_worker() -> None:
        pool = child_pids(first.process.pid)
        os.kill(first.process.pid, signal.SIGKILL)
        for pid in pool:
            os.kill(pid, signal.SIGKILL)
        first.process.wait(timeout=10)

    _kill_while_applying(server, paystack, reference, order, kill_the_whole_worker)
    broker = redis.Redis.from_url(redis_server.url)
    unacked: list[tuple[bytes, float]] = broker.zrange("unacked_index", 0, -1, withscores=True)  # type: ignore[assignment]
    [(_, delivered_at)] = unacked
    assert Order.objects.get(pk=order.pk).state == "pending_payment"  # nobody applied it
    # Redis gives the message out again only once its visibility timeout has passed.
    wait_for(
        lambda: time.time() > delivered_at + VISIBILITY_TIMEOUT_SECONDS,
        what="the visibility timeout to pass",
    )

    start_worker(CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY_TIMEOUT_SECONDS))

    _assert_paid_once(order, product)
    # Acknowledged once the task returned (just after the order was paid): nothing left over.
    wait_for(lambda: broker.zcard("unacked_index") == 0, what="the message acknowledged")
