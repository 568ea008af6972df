"""Two app servers, one database, one Redis: what a second web host must not break.

Two gunicorn processes on their own ports (production settings, an environment each), a plain
Celery worker and a private Redis; the database is the test database, reached through a
private PgBouncer in transaction mode when it is installed (as docs/deploy.md deploys it).
Requests alternate between the two servers: the last units are never sold twice, one
Idempotency-Key places one order whichever server each retry reaches, and a webhook delivered
to both is stored and applied once.
"""

import itertools
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connections

from accounts.tokens import issue_token
from inventory.models import InventoryLock
from orders.models import Order, OrderEvent
from payments.models import Payment, WebhookEvent
from tests.factories import AddressFactory, ProductFactory, UserFactory
from tests.fakes.paystack import FakePaystack
from tests.orders.helpers import fill_cart
from tests.payments.helpers import wait_for
from tests.servers import AppServer, CeleryWorker, PrivateRedis, app_environment, database_url

pytestmark = [pytest.mark.slow, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def topology(django_db_setup, tmp_path_factory, request):
    from tests import pgbouncer

    database = dict(connections["default"].settings_dict)
    pooled = {}
    if pgbouncer.EXECUTABLE is not None:
        bouncer = request.getfixturevalue("pgbouncer_plain")
        database.update(HOST="127.0.0.1", PORT=bouncer.port)
        pooled = {"DB_PREPARED_STATEMENTS": "0", "DB_SERVER_SIDE_CURSORS": "0"}
    redis_server = PrivateRedis(tmp_path_factory.mktemp("redis")).start()
    paystack = FakePaystack().start()
    env = app_environment(
        DATABASE_URL=database_url(database),
        REDIS_URL=redis_server.url,
        PAYSTACK_BASE_URL=paystack.base_url,
        PAYSTACK_SECRET_KEY=paystack.secret_key,
        THROTTLE_CHECKOUT_RATE="",  # the tests send one customer's retries in a burst
        THROTTLE_WEBHOOK_RATE="",
        **pooled,
    )
    started: list[AppServer | CeleryWorker] = []
    try:
        for number in (1, 2):
            started.append(AppServer(dict(env), name=f"host{number}").start())
        started.append(CeleryWorker(dict(env), concurrency=2).start())
        yield started[0], started[1], paystack
    finally:
        for process in reversed(started):
            process.stop()
        paystack.stop()
        redis_server.stop()


def customer_with_cart(lines):
    customer = UserFactory.create()
    fill_cart(customer, lines)
    address = AddressFactory.create(customer=customer)
    return {"Authorization": f"Token {issue_token(customer).token}"}, address.pk


def checkout(server: AppServer, headers, address_id, *, key: str, method="bank_transfer"):
    response = requests.post(
        server.url("/api/checkout/"),
        json={"payment_method": method, "address_id": address_id},
        headers={**headers, "Idempotency-Key": key},
        timeout=30,
    )
    body = response.json()
    code = body["error"]["code"] if "error" in body else None
    return response.status_code, code, response.headers.get("Idempotent-Replayed"), body


def test_thirty_customers_across_two_servers_never_oversell_the_last_ten(topology):
    first, second, _ = topology
    product = ProductFactory.create(stock=10)
    customers = [customer_with_cart([(product, 1)]) for _ in range(30)]
    servers = itertools.cycle([first, second])
    calls = [(next(servers), headers, address) for headers, address in customers]

    with ThreadPoolExecutor(max_workers=12) as pool:
        results = list(pool.map(lambda c: checkout(c[0], c[1], c[2], key=str(uuid.uuid4())), calls))

    assert Counter((status, code) for status, code, _, _ in results) == {
        (201, None): 10,
        (409, "insufficient_stock"): 20,
    }
    placed_by_server = Counter(
        server.port for (server, _, _), r in zip(calls, results, strict=True) if r[0] == 201
    )
    assert len(placed_by_server) == 2  # both servers sold some of the ten
    assert Order.objects.count() == 10
    assert sum(InventoryLock.objects.values_list("quantity", flat=True)) == 10


def test_one_idempotency_key_retried_on_both_servers_places_one_order(topology):
    first, second, _ = topology
    product = ProductFactory.create(stock=100)
    headers, address = customer_with_cart([(product, 2)])
    servers = [first, second] * 4

    with ThreadPoolExecutor(max_workers=8) as pool:
        results = list(pool.map(lambda s: checkout(s, headers, address, key="one-key"), servers))
    # and once more on each server after the dust settled: both replay the same order
    late = [checkout(server, headers, address, key="one-key") for server in (first, second)]

    fresh = [r for r in results if r[0] == 201 and r[2] is None]
    assert len(fresh) == 1
    others = Counter((status, code, replayed) for status, code, replayed, _ in results)
    others[(201, None, None)] -= 1
    assert set(+others) <= {(201, None, "true"), (409, "request_in_progress", None)}
    order_id = fresh[0][3]["id"]
    assert [(status, replayed, body["id"]) for status, _, replayed, body in late] == [
        (201, "true", order_id),
        (201, "true", order_id),
    ]
    assert Order.objects.count() == 1
    assert list(InventoryLock.objects.values_list("quantity", flat=True)) == [2]


def test_a_webhook_delivered_to_both_servers_is_stored_and_applied_once(topology):
    first, second, paystack = topology
    product = ProductFactory.create(stock=5)
    headers, address = customer_with_cart([(product, 1)])
    status, code, _, body = checkout(first, headers, address, key="pay-1", method="paystack")
    assert status == 201, (code, body)
    reference = body["payment"]["reference"]
    paystack.auto_deliver = False
    webhook = paystack.pay(reference)  # signed, held: the test delivers it

    targets = [first, second] * 3

    def deliver(server: AppServer) -> int:
        return requests.post(
            server.url("/api/webhooks/paystack/"),
            data=webhook.body,
            headers=webhook.headers,
            timeout=30,
        ).status_code

    with ThreadPoolExecutor(max_workers=6) as pool:
        statuses = list(pool.map(deliver, targets))

    assert statuses == [200] * 6
    wait_for(
        lambda: Order.objects.get(pk=body["id"]).state == "paid",
        timeout=30,
        what="the worker to apply the webhook",
    )
    payment = Payment.objects.get(reference=reference)
    events = WebhookEvent.objects.filter(gateway="paystack", signature_valid=True, payment=payment)
    assert events.count() == 1
    wait_for(lambda: events.get().processed_at is not None, what="the event processed")
    assert OrderEvent.objects.filter(order_id=body["id"], kind="paid").count() == 1
    assert payment.status == "succeeded"
