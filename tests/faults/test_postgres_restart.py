"""PostgreSQL restarted under load: the app answers 503 (never 500) while it is away, /readyz
says so, and it serves again by itself once the database is back.

A throw-away PostgreSQL cluster (never the shared one) holds a copy of the test database; two
gunicorn workers run against it with kept connections (``DB_CONN_MAX_AGE=60``, as in
production) while threads browse the catalog and read carts. Customers who check out during
the outage retry with their Idempotency-Key afterwards and get exactly one order each.
"""

import os
import threading
import uuid
from collections import Counter
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import psycopg
import pytest
import requests
from django.db import connections

from accounts.tokens import issue_token
from tests.factories import AddressFactory, ProductFactory, UserFactory
from tests.faults.processes import PrivatePostgres, child_pids
from tests.ops.worker import wait_for
from tests.orders.helpers import fill_cart
from tests.servers import AppServer, PrivateRedis, app_environment, database_url

pytestmark = [pytest.mark.faults, pytest.mark.django_db(transaction=True)]

CUSTOMERS = 4
# Restart cycles; bench/faults.py raises it for the long variant.
RESTARTS = int(os.environ.get("FAULT_RESTARTS", "1"))
LOAD_PATHS = ("/api/products/", "/api/cart/")


class Load:
    """Threads sending browse and cart requests until stopped; every answer is recorded."""

    def __init__(self, server: AppServer, token: str) -> None:
        self.server, self.token = server, token
        self.answers: list[tuple[str, int | str]] = []
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.pool = ThreadPoolExecutor(max_workers=3)

    def _loop(self, path: str, headers: dict[str, str]) -> None:
        with requests.Session() as session:
            while not self.stopping.is_set():
                try:
                    status: int | str = session.get(
                        self.server.url(path), headers=headers, timeout=10
                    ).status_code
                except requests.RequestException as exc:
                    status = type(exc).__name__
                with self.lock:
                    self.answers.append((path, status))

    def start(self) -> "Load":
        self.pool.submit(self._loop, "/api/products/", {})
        self.pool.submit(self._loop, "/api/products/", {})
        self.pool.submit(self._loop, "/api/cart/", {"Authorization": f"Token {self.token}"})
        return self

    def seen(self) -> Counter[tuple[str, int | str]]:
        with self.lock:
            return Counter(self.answers)

    def count(self, path: str, status: int | str) -> int:
        with self.lock:
            return self.answers.count((path, status))

    def answered(self, status: int, *, times: int) -> Callable[[], bool]:
        """A condition: every load path answered ``status`` ``times`` more times from now."""
        before = {path: self.count(path, status) for path in LOAD_PATHS}
        return lambda: all(self.count(p, status) >= before[p] + times for p in LOAD_PATHS)

    def stop(self) -> None:
        self.stopping.set()
        self.pool.shutdown(wait=True)


@pytest.fixture
def private_postgres():
    server = PrivatePostgres().start()
    yield server
    server.remove()


def _shop_in_the_test_database():
    """Products and customers with a cart and a token, written before the copy is taken."""
    product = ProductFactory.create(stock=100)
    customers = []
    for _ in range(CUSTOMERS):
        customer = UserFactory.create()
        fill_cart(customer, [(product, 1)])
        address = AddressFactory.create(customer=customer)
        customers.append((issue_token(customer).token, address.pk, str(uuid.uuid4())))
    return product, customers


def test_the_app_answers_503_while_postgres_restarts_and_recovers_by_itself(
    private_postgres, tmp_path
):
    product, customers = _shop_in_the_test_database()
    db_url = private_postgres.copy_database(
        database_url(connections["default"].settings_dict), "shop_restart"
    )
    redis_server = PrivateRedis(tmp_path).start()
    env = app_environment(DATABASE_URL=db_url, REDIS_URL=redis_server.url, DB_CONN_MAX_AGE="60")
    server = AppServer(env, workers=2, name="pg-restart").start()
    assert server.process is not None
    workers_before = sorted(child_pids(server.process.pid))
    load = Load(server, customers[0][0]).start()

    def checkout(token: str, address_id: int, key: str) -> requests.Response:
        return requests.post(
            server.url("/api/checkout/"),
            json={"payment_method": "bank_transfer", "address_id": address_id},
            headers={"Authorization": f"Token {token}", "Idempotency-Key": key},
            timeout=30,
        )

    def readyz() -> requests.Response:
        return requests.get(server.url("/readyz"), timeout=10)

    try:
        wait_for(load.answered(200, times=5), what="load served before the restart")

        for restart in range(RESTARTS):
            private_postgres.stop("fast")

            wait_for(load.answered(503, times=5), what="503 answers while PostgreSQL is down")
            ready = readyz()
            assert ready.status_code == 503
            assert ready.json() == {
                "status": "unavailable",
                "checks": {"database": "unavailable", "redis": "ok"},
            }
            assert requests.get(server.url("/healthz"), timeout=10).status_code == 200  # alive
            if restart == 0:
                refused = [checkout(*customer) for customer in customers]
                assert [(r.status_code, r.json()["error"]["code"]) for r in refused] == [
                    (503, "database_unavailable")
                ] * CUSTOMERS

            private_postgres.start()

            wait_for(lambda: readyz().status_code == 200, what="/readyz ready again")
            wait_for(load.answered(200, times=5), what="the load served again after restart")

        placed = [checkout(*customer) for customer in customers]
        replayed = [checkout(*customer) for customer in customers]
    finally:
        load.stop()
        workers_after = sorted(child_pids(server.process.pid))
        server.stop()
        redis_server.stop()

    statuses = {status for (_, status) in load.seen()}
    assert statuses == {200, 503}, load.seen()  # never a 500, never a dropped connection
    assert workers_after == workers_before  # recovered without a restart of its own
    assert [r.status_code for r in placed] == [201] * CUSTOMERS, [r.text for r in placed]
    assert [(r.status_code, r.headers.get("Idempotent-Replayed")) for r in replayed] == [
        (201, "true")
    ] * CUSTOMERS
    assert [r.json()["id"] for r in replayed] == [r.json()["id"] for r in placed]
    with psycopg.connect(db_url) as conn:
        orders = conn.execute("SELECT count(*) FROM orders_order").fetchone()
        locked = conn.execute(
            "SELECT coalesce(sum(quantity), 0) FROM inventory_inventorylock WHERE product_id = %s",
            [product.pk],
        ).fetchone()
    assert orders == (CUSTOMERS,)
    assert locked == (CUSTOMERS,)
