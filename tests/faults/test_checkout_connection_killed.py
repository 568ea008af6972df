"""A checkout whose database connection is killed in the middle of its transaction.

A real gunicorn server on the test database. The test holds the product's row lock, so the
checkout stops inside its transaction (order, items, key and cart already written, the stock
lock not yet taken); then the test terminates that backend with ``pg_terminate_backend``, as a
failover, an administrator or an OOM kill would. The client gets a clean 503 with nothing
half-written, and the retry with the same Idempotency-Key places the order once.
"""

import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connections

from accounts.tokens import issue_token
from inventory.models import InventoryLock
from notifications.models import Notification
from orders.models import IdempotencyKey, Order
from shop.models import CartItem, Product
from tests.factories import AddressFactory, ProductFactory, UserFactory
from tests.faults.processes import (
    backends_waiting_on_a_lock,
    row_locked,
    terminate_backend,
)
from tests.ops.worker import wait_for
from tests.orders.helpers import fill_cart
from tests.servers import AppServer, PrivateRedis, app_environment, database_url

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def app_server(tmp_path):
    redis_server = PrivateRedis(tmp_path).start()
    env = app_environment(
        DATABASE_URL=database_url(connections["default"].settings_dict),
        REDIS_URL=redis_server.url,
        DB_CONN_MAX_AGE="60",  # kept connections, as in production: the dead one is replaced
    )
    server = AppServer(env, workers=1, name="killed-connection").start()
    yield server
    server.stop()
    redis_server.stop()


def test_a_connection_killed_mid_checkout_writes_nothing_and_the_retry_places_the_order(
    app_server,
):
    db_url = database_url(connections["default"].settings_dict)
    product = ProductFactory.create(stock=5)
    customer = UserFactory.create()
    fill_cart(customer, [(product, 2)])
    address = AddressFactory.create(customer=customer)
    headers = {"Authorization": f"Token {issue_token(customer).token}"}
    key = str(uuid.uuid4())

    def checkout() -> requests.Response:
        return requests.post(
            app_server.url("/api/checkout/"),
            json={"payment_method": "bank_transfer", "address_id": address.pk},
            headers={**headers, "Idempotency-Key": key},
            timeout=30,
        )

    with row_locked(db_url, Product._meta.db_table, product.pk), ThreadPoolExecutor(1) as pool:
        pending = pool.submit(checkout)
        wait_for(
            lambda: backends_waiting_on_a_lock(db_url), what="the checkout to wait on the lock"
        )
        [backend] = backends_waiting_on_a_lock(db_url)
        terminate_backend(db_url, backend)
        killed = pending.result(timeout=30)

    assert killed.status_code == 503, killed.text
    assert killed.headers["Content-Type"] == "application/json"
    assert killed.headers["Retry-After"] == "5"
    assert killed.json()["error"]["code"] == "database_unavailable"
    # Nothing half-written: no order, lock, key or message; the cart and the stock as they were.
    assert not Order.objects.exists()
    assert not InventoryLock.objects.exists()
    assert not IdempotencyKey.objects.exists()
    assert not Notification.objects.exists()
    assert list(CartItem.objects.values_list("product_id", "quantity")) == [(product.pk, 2)]
    assert Product.objects.get(pk=product.pk).stock == 5

    retry = checkout()
    replay = checkout()

    assert retry.status_code == 201, retry.text
    assert (replay.status_code, replay.headers.get("Idempotent-Replayed")) == (201, "true")
    assert replay.json()["id"] == retry.json()["id"]
    order = Order.objects.get()
    assert order.pk == retry.json()["id"]
    assert list(InventoryLock.objects.values_list("owner", "quantity")) == [(order.number, 2)]
    assert not CartItem.objects.exists()
    assert list(Notification.objects.values_list("template", flat=True)) == ["order_placed"]
