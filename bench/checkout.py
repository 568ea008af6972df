"""Checkout benchmark: concurrent checkouts over HTTP against gunicorn + PostgreSQL.

    .venv/bin/python bench/checkout.py [--customers 400] [--concurrency 8]

Creates a throw-away database (``<name>_bench`` beside the one in BENCH_DATABASE_URL), loads
products, customers with tokens, addresses and ready carts, starts the app under gunicorn and
fires checkouts from client threads for three scenarios:

  hot     every customer buys the same product (stock covers 80 % of them)
  spread  each buys one random product out of 10,000
  multi   each buys 5 random products of 200 (rows locked in overlapping sets)

Unmeasured warm-up checkouts run first. For each scenario it prints orders/s, p50/p95/p99
latency, outcomes, oversell (must be 0), the SQL statements of one checkout, and the CPU one
request cost the app (gunicorn), its database backends and the load generator (from /proc, on
Linux). In the same run it measures the database's own ceiling for the same work (lock a
product row, insert a lock, insert an order, commit) with pgbench over the same TCP connection
type, and prints the app/ceiling ratio. Last, the same gunicorn serves a bare Django view doing
the ceiling's work through the ORM (``bench/floor_urls.py``): the framework's floor on this
machine, against which the hot checkout is also given as a ratio.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/shop"
SKIP_SQL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO")


def bench_database_url(base: str) -> str:
    parts = urlsplit(base)
    name = parts.path.lstrip("/") or "shop"
    return urlunsplit(parts._replace(path=f"/{name}_bench"))


def run(cmd: list[str], env: dict[str, str]) -> None:
    subprocess.run(cmd, env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL)


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


# --- data set ---------------------------------------------------------------------------------


@dataclass
class Scenario:
    name: str
    description: str
    carts: list[list[tuple[int, int]]] = field(default_factory=list)  # per customer: (product, qty)
    tokens: list[str] = field(default_factory=list)
    addresses: list[int] = field(default_factory=list)
    initial_stock: dict[int, int] = field(default_factory=dict)


def build_scenarios(customers: int, seed: int, warmup: int) -> tuple[Scenario, list[Scenario]]:
    from django.contrib.auth.hashers import make_password
    from rest_framework.authtoken.models import Token

    from shop.models import Address, Cart, CartItem, Product, User

    rng = random.Random(seed)
    password = make_password("bench-password-123")

    def products(prefix: str, count: int, stock: int) -> list[Product]:
        rows = [
            Product(
                sku=f"{prefix}-{i:05d}",
                name=f"{prefix} product {i}",
                price=Decimal("1500.00"),
                currency="NGN",
                stock=stock,
            )
            for i in range(count)
        ]
        return Product.objects.bulk_create(rows, batch_size=2000)

    def customers_for(scenario: Scenario, carts: list[list[tuple[int, int]]]) -> None:
        users = User.objects.bulk_create(
            [
                User(email=f"{scenario.name}-{i}@bench.example", password=password)
                for i in range(len(carts))
            ],
            batch_size=2000,
        )
        tokens = Token.objects.bulk_create([Token(user=u, key=Token.generate_key()) for u in users])
        addresses = Address.objects.bulk_create(
            [
                Address(
                    customer=u,
                    full_name="Bench Customer",
                    phone="+2348031234567",
                    line1="1 Bench Road",
                    city="Lagos",
                    country="NG",
                    is_default=True,
                )
                for u in users
            ],
            batch_size=2000,
        )
        cart_rows = Cart.objects.bulk_create([Cart(customer=u, currency="NGN") for u in users])
        CartItem.objects.bulk_create(
            [
                CartItem(cart=cart, product_id=pid, quantity=qty)
                for cart, lines in zip(cart_rows, carts, strict=True)
                for pid, qty in lines
            ],
            batch_size=5000,
        )
        scenario.carts = carts
        scenario.tokens = [t.key for t in tokens]
        scenario.addresses = [a.id for a in addresses]

    # Not measured: every gunicorn worker imports its views, opens its database connection
    # and prepares its statements on its first requests, whichever scenario comes first.
    warm = Scenario("warmup", "one random product of 100, before the measured scenarios")
    warm_products = products("WARM", 100, stock=warmup + 1)
    customers_for(warm, [[(rng.choice(warm_products).id, 1)] for _ in range(warmup)])
    warm.initial_stock = {p.id: p.stock for p in warm_products}

    hot = Scenario("hot", "everyone buys the same product")
    (hot_product,) = products("HOT", 1, stock=int(customers * 0.8))
    customers_for(hot, [[(hot_product.id, 1)] for _ in range(customers)])
    hot.initial_stock = {hot_product.id: hot_product.stock}

    spread = Scenario("spread", "one random product out of 10,000")
    spread_products = products("SPREAD", 10_000, stock=50)
    customers_for(spread, [[(rng.choice(spread_products).id, 1)] for _ in range(customers)])
    spread.initial_stock = {p.id: p.stock for p in spread_products}

    multi = Scenario("multi", "carts of 5 random products out of 200")
    multi_products = products("MULTI", 200, stock=max(5, customers // 20))
    customers_for(
        multi,
        [[(p.id, 1) for p in rng.sample(multi_products, 5)] for _ in range(customers)],
    )
    multi.initial_stock = {p.id: p.stock for p in multi_products}
    return warm, [hot, spread, multi]


def queries_per_checkout(cart_size: int) -> int:
    """SQL statements of one checkout (transaction control excluded), measured in-process."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from rest_framework.authtoken.models import Token

    from shop.models import Address, Cart, CartItem, Product, User

    user = User.objects.create_user(
        email=f"probe-{uuid.uuid4().hex[:8]}@bench.example", password="bench-password-123"
    )
    token = Token.objects.create(user=user)
    address = Address.objects.create(
        customer=user,
        full_name="Probe",
        phone="+2348031234567",
        line1="1 Probe Road",
        city="Lagos",
        country="NG",
    )
    cart = Cart.objects.create(customer=user, currency="NGN")
    products = Product.objects.bulk_create(
        [
            Product(
                sku=f"PROBE-{uuid.uuid4().hex[:10]}",
                name="probe",
                price=Decimal("100.00"),
                currency="NGN",
                stock=10,
            )
            for _ in range(cart_size)
        ]
    )
    CartItem.objects.bulk_create([CartItem(cart=cart, product=p, quantity=1) for p in products])
    client = Client(HTTP_AUTHORIZATION=f"Token {token.key}", HTTP_HOST="127.0.0.1")
    with CaptureQueriesContext(connection) as ctx:
        response = client.post(
            "/api/checkout/",
            data=json.dumps({"payment_method": "cod", "address_id": address.id}),
            content_type="application/json",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        )
    if response.status_code != 201:
        raise SystemExit(f"probe checkout failed: {response.status_code} {response.content!r}")
    return sum(1 for q in ctx.captured_queries if not q["sql"].upper().startswith(SKIP_SQL))


def oversold_units(scenario: Scenario) -> tuple[int, int]:
    """(units sold or held beyond stock, units ordered) for the scenario's products."""
    from django.db.models import Sum

    from inventory.models import InventoryLock
    from orders.models import OrderItem
    from shop.models import Product

    ids = list(scenario.initial_stock)
    ordered = dict(
        OrderItem.objects.filter(product_id__in=ids)
        .values_list("product_id")
        .annotate(total=Sum("quantity"))
        .values_list("product_id", "total")
    )
    held = dict(
        InventoryLock.objects.filter(product_id__in=ids)
        .values_list("product_id")
        .annotate(total=Sum("quantity"))
        .values_list("product_id", "total")
    )
    stock_now = dict(Product.objects.filter(id__in=ids).values_list("id", "stock"))
    oversold = 0
    for pid, initial in scenario.initial_stock.items():
        deducted = initial - stock_now[pid]
        committed = deducted + held.get(pid, 0)
        oversold += max(0, ordered.get(pid, 0) - initial) + max(0, committed - initial)
    return oversold, sum(ordered.values())


# --- load -------------------------------------------------------------------------------------


@dataclass
class LoadResult:
    latencies: list[float]
    statuses: dict[int, int]
    seconds: float


def checkout_request(port: int, token: str, address_id: int) -> bytes:
    """One checkout as bytes on the wire, built before the clock starts."""
    body = json.dumps({"payment_method": "cod", "address_id": address_id}).encode()
    head = (
        f"POST /api/checkout/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Authorization: Token {token}\r\nContent-Type: application/json\r\n"
        f"Idempotency-Key: {uuid.uuid4()}\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


class HttpConnection:
    """A minimal HTTP/1.1 client: the load generator shares the 2 cores with the app, and
    ``http.client`` (header parsing through ``email``) cost it about twice the CPU."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.sock: socket.socket | None = None
        self.pending = b""

    def _receive(self) -> bytes:
        assert self.sock is not None
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("the server closed the connection mid-response")
        return chunk

    def exchange(self, request: bytes) -> int:
        """Send one request and read its whole response; returns the status code."""
        if self.sock is None:
            self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=30)
            self.pending = b""
        self.sock.sendall(request)
        data = self.pending
        while b"\r\n\r\n" not in data:
            data += self._receive()
        head, _, data = data.partition(b"\r\n\r\n")
        status_line, *header_lines = head.split(b"\r\n")
        headers = dict(line.split(b":", 1) for line in header_lines)
        headers = {name.strip().lower(): value.strip() for name, value in headers.items()}
        length = int(headers[b"content-length"])  # Django's CommonMiddleware always sets it
        while len(data) < length:
            data += self._receive()
        self.pending = data[length:]
        if headers.get(b"connection", b"").lower() == b"close":
            self.close()
        return int(status_line.split()[1])

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None


def checkout_requests(port: int, scenario: Scenario) -> list[bytes]:
    return [
        checkout_request(port, token, address)
        for token, address in zip(scenario.tokens, scenario.addresses, strict=True)
    ]


def floor_request(port: int, product_id: int, customer_id: int) -> bytes:
    """One POST to the floor server (``bench/floor_urls.py``)."""
    body = json.dumps({"product": product_id, "customer": customer_id}).encode()
    head = (
        f"POST /floor/checkout/ HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
        f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
    )
    return head.encode() + body


def fire(port: int, requests: list[bytes], concurrency: int) -> LoadResult:
    requests = requests[:]
    lock = threading.Lock()
    latencies: list[float] = []
    statuses: dict[int, int] = {}

    def worker() -> None:
        conn = HttpConnection(port)
        while True:
            with lock:
                if not requests:
                    break
                request = requests.pop()
            started = time.perf_counter()
            status = conn.exchange(request)
            elapsed = time.perf_counter() - started
            with lock:
                latencies.append(elapsed)
                statuses[status] = statuses.get(status, 0) + 1
        conn.close()

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return LoadResult(latencies, statuses, time.perf_counter() - started)


# --- CPU accounting (Linux /proc; figures are omitted elsewhere) -------------------------------


def _process_cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:  # exited, or no /proc
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(parent: int) -> list[int]:
    pids = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == parent:
                pids.append(int(stat.parent.name))
        except (OSError, ValueError):
            continue
    return pids


def _database_backends(url: str) -> list[int]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        rows = conn.execute(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        ).fetchall()
    return [pid for (pid,) in rows]


class CpuMeter:
    """CPU seconds spent by the app (gunicorn), its database backends and this load generator
    over one scenario. Throughput on a shared VM moves from run to run; the CPU that one
    checkout costs moves much less."""

    def __init__(self, server_pid: int, database_url: str) -> None:
        self.server_pid, self.database_url = server_pid, database_url

    def _sample(self) -> tuple[dict[int, float], dict[int, float], float]:
        app = [self.server_pid, *_children(self.server_pid)]
        backends = _database_backends(self.database_url)
        return (
            {pid: _process_cpu_seconds(pid) for pid in app},
            {pid: _process_cpu_seconds(pid) for pid in backends},
            time.process_time(),
        )

    def __enter__(self) -> CpuMeter:
        self._before = self._sample()
        return self

    def __exit__(self, *exc: object) -> None:
        after = self._sample()
        self.seconds = {
            # A process that started during the run counts whole (it had 0 before).
            name: sum(cpu - before.get(pid, 0.0) for pid, cpu in now.items())
            for name, before, now in (
                ("app", self._before[0], after[0]),
                ("database", self._before[1], after[1]),
            )
        }
        self.seconds["load generator"] = after[2] - self._before[2]


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def start_gunicorn(
    env: dict[str, str], port: int, workers: int, threads: int, worker_class: str, log: Path
) -> subprocess.Popen:
    """gunicorn serving ``config.wsgi`` with ``env``'s settings module; returns once it answers."""
    gunicorn = shutil.which("gunicorn", path=str(Path(sys.executable).parent)) or "gunicorn"
    # The app's own log (a warning per refused checkout) goes to a file, not between the figures.
    log_file = log.open("w")
    proc = subprocess.Popen(
        [
            gunicorn,
            "config.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            str(workers),
            "--threads",
            str(threads),
            "--worker-class",
            worker_class,
            "--log-level",
            "warning",
        ],
        env=env,
        cwd=ROOT,
        start_new_session=True,
        stdout=log_file,
        stderr=subprocess.STDOUT,
    )
    log_file.close()  # the child has its own copy
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.2)  # waiting for a server to start: nothing to poll but the port
    proc.kill()
    raise SystemExit(f"gunicorn did not start within 30 s; see {log}")


def measure_floor(env: dict[str, str], args: argparse.Namespace, log: Path) -> dict:
    """The same work as the database ceiling, by a bare Django view under the same gunicorn
    (``bench/floor_urls.py``), everyone on one product: the framework's own floor here."""
    from django.db import connection

    from shop.models import Product, User

    product = Product.objects.create(
        sku="FLOOR-00000", name="floor product", price=Decimal("1500.00"), currency="NGN",
        stock=10 * (args.customers + args.warmup),
    )  # fmt: skip
    customers = list(User.objects.values_list("id", flat=True)[: args.customers + args.warmup])
    connection.close()
    requests = [floor_request(args.port, product.id, customer) for customer in customers]
    server = start_gunicorn(
        dict(env, DJANGO_SETTINGS_MODULE="bench.floor_settings"),
        args.port, args.workers, args.threads, args.worker_class, log,
    )  # fmt: skip
    try:
        warm = fire(args.port, requests[: args.warmup], args.concurrency)
        with CpuMeter(server.pid, env["DATABASE_URL"]) as cpu:
            load = fire(args.port, requests[args.warmup :], args.concurrency)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    if set(warm.statuses) | set(load.statuses) != {201}:
        raise SystemExit(f"floor requests failed: {warm.statuses} {load.statuses}; see {log}")
    return {
        "requests_per_second": len(load.latencies) / load.seconds,
        "p50_ms": percentile(load.latencies, 50) * 1000,
        "cpu_ms_per_request": {
            name: seconds * 1000 / len(load.latencies) for name, seconds in cpu.seconds.items()
        },
    }


# --- database ceiling -------------------------------------------------------------------------

CEILING_SETUP = """
DROP TABLE IF EXISTS ceiling_lock, ceiling_order, ceiling_product;
CREATE TABLE ceiling_product (id int PRIMARY KEY, stock int NOT NULL CHECK (stock >= 0));
CREATE TABLE ceiling_lock (id bigserial PRIMARY KEY, product_id int NOT NULL, quantity int NOT NULL,
                           owner text NOT NULL, expires_at timestamptz);
CREATE TABLE ceiling_order (id bigserial PRIMARY KEY, number text UNIQUE NOT NULL,
                            customer_id int NOT NULL, total numeric(12,2) NOT NULL,
                            created_at timestamptz NOT NULL);
INSERT INTO ceiling_product SELECT g, 1000000 FROM generate_series(1, 10000) g;
"""

CEILING_SCRIPT = """\\set pid {pid}
BEGIN;
SELECT stock FROM ceiling_product WHERE id = :pid FOR UPDATE;
INSERT INTO ceiling_order (number, customer_id, total, created_at)
  VALUES (md5(random()::text || clock_timestamp()::text), :client_id, 1500, now());
INSERT INTO ceiling_lock (product_id, quantity, owner, expires_at)
  VALUES (:pid, 1, currval('ceiling_order_id_seq')::text, now() + interval '30 minutes');
COMMIT;
"""


def database_ceiling(url: str, concurrency: int, seconds: int, hot: bool) -> float:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(CEILING_SETUP)
    parts = urlsplit(url)
    script = CEILING_SCRIPT.format(pid="1" if hot else "random(1, 10000)")
    with tempfile.NamedTemporaryFile("w", suffix=".sql", delete=False) as handle:
        handle.write(script)
    env = dict(os.environ, PGPASSWORD=parts.password or "")
    try:
        out = subprocess.run(
            [
                "pgbench",
                "-n",
                "-h",
                parts.hostname or "127.0.0.1",
                "-p",
                str(parts.port or 5432),
                "-U",
                parts.username or "postgres",
                "-c",
                str(concurrency),
                "-j",
                "2",
                "-T",
                str(seconds),
                "-f",
                handle.name,
                parts.path.lstrip("/"),
            ],
            env=env,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        os.unlink(handle.name)
    for line in out.splitlines():
        if line.startswith("tps ="):
            return float(line.split()[2])
    raise SystemExit(f"pgbench printed no tps:\n{out}")


# --- main -------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--customers", type=int, default=400, help="checkouts per scenario")
    parser.add_argument("--concurrency", type=int, default=8, help="concurrent customers")
    # Sync workers, two per core: checkout is CPU-bound, and on the reference machine a worker
    # per concurrent customer (8) cost a third more CPU per request in context switches than
    # 3 or 4 did; gthread cost more than sync (docs/performance.md, "Worker count").
    parser.add_argument(
        "--workers",
        type=int,
        default=2 * (os.cpu_count() or 1),
        help="gunicorn worker processes (default: two per core)",
    )
    parser.add_argument("--threads", type=int, default=1, help="threads per gunicorn worker")
    parser.add_argument("--worker-class", default="sync", help="gunicorn worker class")
    parser.add_argument(
        "--warmup", type=int, default=200, help="unmeasured checkouts before the scenarios"
    )
    parser.add_argument("--ceiling-seconds", type=int, default=10)
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--json", type=Path, help="also write the figures to this file")
    args = parser.parse_args()

    base_url = os.environ.get("BENCH_DATABASE_URL", os.environ.get("DATABASE_URL", DEFAULT_DB))
    db_url = bench_database_url(base_url)
    env = dict(
        os.environ,
        DATABASE_URL=db_url,
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"),
        SECRET_KEY="bench-secret-key-" + uuid.uuid4().hex * 2,
        DEBUG="0",
        SITE_URL="http://127.0.0.1",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    print(f"database: {urlsplit(db_url)._replace(netloc=urlsplit(db_url).hostname or '').geturl()}")
    recreate_database(db_url)
    run([sys.executable, "manage.py", "migrate", "--noinput"], env)

    os.environ.update(env)
    import django

    django.setup()
    from django.core.cache import cache

    cache.clear()
    warmup, scenarios = build_scenarios(args.customers, args.seed, args.warmup)
    queries_per_checkout(1)  # unmeasured: one-time reads (settings, id sequences) come first
    q1, q5, q20 = (queries_per_checkout(n) for n in (1, 5, 20))
    from django.db import connection

    connection.close()

    results = {
        "customers": args.customers,
        "concurrency": args.concurrency,
        "server": f"gunicorn, {args.workers} {args.worker_class} workers x {args.threads} threads",
        "queries_per_checkout": {"1": q1, "5": q5, "20": q20},
        "scenarios": {},
    }
    server_log = Path(tempfile.gettempdir()) / f"bench-checkout-gunicorn-{args.port}.log"
    server = start_gunicorn(
        env, args.port, args.workers, args.threads, args.worker_class, server_log
    )
    try:
        warm = fire(args.port, checkout_requests(args.port, warmup), args.concurrency)
        if warm.statuses != {201: args.warmup}:
            raise SystemExit(f"warm-up checkouts failed: {warm.statuses}; see {server_log}")
        for scenario in scenarios:
            with CpuMeter(server.pid, db_url) as cpu:
                load = fire(args.port, checkout_requests(args.port, scenario), args.concurrency)
            oversold, ordered = oversold_units(scenario)
            created = load.statuses.get(201, 0)
            results["scenarios"][scenario.name] = {
                "description": scenario.description,
                "orders_per_second": created / load.seconds,
                "requests_per_second": len(load.latencies) / load.seconds,
                "p50_ms": percentile(load.latencies, 50) * 1000,
                "p95_ms": percentile(load.latencies, 95) * 1000,
                "p99_ms": percentile(load.latencies, 99) * 1000,
                "mean_ms": statistics.fmean(load.latencies) * 1000,
                "statuses": {str(k): v for k, v in sorted(load.statuses.items())},
                "units_ordered": ordered,
                "oversold_units": oversold,
                "cpu_ms_per_request": {
                    name: seconds * 1000 / len(load.latencies)
                    for name, seconds in cpu.seconds.items()
                },
            }
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    results["floor"] = measure_floor(env, args, server_log)

    results["ceiling_tps_hot"] = database_ceiling(
        db_url, args.concurrency, args.ceiling_seconds, True
    )
    results["ceiling_tps_spread"] = database_ceiling(
        db_url, args.concurrency, args.ceiling_seconds, False
    )
    report(results)
    print(f"\nserver log: {server_log}")
    if args.json:
        args.json.write_text(json.dumps(results, indent=2))


def report(results: dict) -> None:
    print(
        f"\ncustomers per scenario: {results['customers']}, concurrency: {results['concurrency']}"
        f", server: {results['server']}"
    )
    q = results["queries_per_checkout"]
    print(
        f"SQL statements per checkout (BEGIN/COMMIT/SAVEPOINT excluded): "
        f"1 item {q['1']}, 5 items {q['5']}, 20 items {q['20']}"
    )
    print(
        f"database ceiling (pgbench, same work, TCP): hot {results['ceiling_tps_hot']:.0f} tps, "
        f"spread {results['ceiling_tps_spread']:.0f} tps\n"
    )
    header = (
        f"{'scenario':8} {'orders/s':>9} {'req/s':>7} {'p50 ms':>7} {'p95 ms':>7} "
        f"{'p99 ms':>7} {'oversold':>8} {'vs ceiling':>10}  statuses"
    )
    print(header)
    print("-" * len(header))
    for name, s in results["scenarios"].items():
        ceiling = results["ceiling_tps_hot" if name == "hot" else "ceiling_tps_spread"]
        print(
            f"{name:8} {s['orders_per_second']:9.1f} {s['requests_per_second']:7.1f} "
            f"{s['p50_ms']:7.1f} {s['p95_ms']:7.1f} {s['p99_ms']:7.1f} {s['oversold_units']:8d} "
            f"{s['orders_per_second'] / ceiling:10.1%}  {s['statuses']}"
        )
    floor, hot = results["floor"], results["scenarios"]["hot"]
    print(
        f"\nfloor (bare Django view, the ceiling's work through the ORM, one product): "
        f"{floor['requests_per_second']:.1f} orders/s, p50 {floor['p50_ms']:.1f} ms, "
        f"{floor['requests_per_second'] / results['ceiling_tps_hot']:.1%} of the ceiling; "
        f"hot checkout = {hot['orders_per_second'] / floor['requests_per_second']:.1%} of it"
    )
    print("\nCPU per request, ms (2 cores shared by all three):")
    rows = {**results["scenarios"], "floor": floor}
    for name, s in rows.items():
        parts = ", ".join(f"{k} {v:.2f}" for k, v in s["cpu_ms_per_request"].items())
        print(f"{name:8} {sum(s['cpu_ms_per_request'].values()):6.2f} = {parts}")


if __name__ == "__main__":
    main()
