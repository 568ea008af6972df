"""Soak: a mixed load for a while against the whole topology, then the books are checked.

    .venv/bin/python bench/soak.py [--minutes 10] [--concurrency 8]

Over loopback only: two gunicorn processes (2 sync workers each), two Celery workers, one
beat (short intervals: lock sweep 10 s, outbox 5 s, re-drive 30 s), a Redis of its own, the
fake Paystack and a fake SMTP server, on a throw-away database (``<name>_soak`` beside
BENCH_DATABASE_URL). Client threads send browse 70 % (product list and pages), cart 20 %
(add a line, read the cart), checkout 8 % (Paystack, with an Idempotency-Key) and webhooks
2 % (the gateway's signed charge.success for a placed order, one in ten delivered twice).
Stock locks last 2 minutes, so locks expire, are swept, and some payments come late.

It reports the error rate (5xx and failed connections), p50/p99 per route, the database's
connections, and each process's memory at the start (after a warm-up) and at the end; then,
once the workers have drained, the invariants (bench/soak_checks.py). Exit status 1 when an
invariant fails, a request failed, or a process grew by more than MEMORY_GROWTH_BOUND_MB.
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from soak_checks import SWEEP_SECONDS, Shop, Verdict  # noqa: E402  (bench/: this folder)

from tests.fakes.paystack import FakePaystack  # noqa: E402
from tests.fakes.smtp_server import FakeSmtpServer  # noqa: E402
from tests.faults.processes import CeleryBeat, child_pids, shop_environment  # noqa: E402
from tests.servers import AppServer, CeleryWorker, PrivateRedis  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/shop"
MIX = {"browse": 70, "cart": 20, "checkout": 8, "webhook": 2}
WARM_UP_SECONDS = 30
MEMORY_GROWTH_BOUND_MB = 20.0
DRAIN_DEADLINE_SECONDS = 180


def soak_database_url(base: str) -> str:
    parts = urlsplit(base)
    return urlunsplit(parts._replace(path=f"/{parts.path.lstrip('/') or 'shop'}_soak"))


def recreate_database(url: str) -> None:
    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parts.path.lstrip("/")}"')


class Load:
    """Client threads drawing requests from MIX until told to stop; every answer recorded."""

    def __init__(self, shop: Shop, servers: list[AppServer], paystack: FakePaystack) -> None:
        self.shop, self.servers, self.paystack = shop, servers, paystack
        self.latencies: dict[str, list[float]] = defaultdict(list)
        self.statuses: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.unpaid: list[str] = []  # references of placed orders the gateway has not paid
        self.filled: set[int] = set()  # customers whose cart got a line since their checkout
        self.lock = threading.Lock()
        self.stopping = threading.Event()
        self.routes = list(MIX)
        self.weights = [MIX[route] for route in self.routes]

    def run(self, concurrency: int) -> list[threading.Thread]:
        threads = [
            threading.Thread(target=self._client, args=(seed,), daemon=True)
            for seed in range(concurrency)
        ]
        for thread in threads:
            thread.start()
        return threads

    def _client(self, seed: int) -> None:
        rng = random.Random(seed)
        with requests.Session() as session:
            while not self.stopping.is_set():
                route = rng.choices(self.routes, self.weights)[0]
                server = rng.choice(self.servers)
                started = time.perf_counter()
                try:
                    status: str | None = getattr(self, f"_{route}")(session, server, rng)
                except requests.RequestException as exc:
                    status = type(exc).__name__
                if status is None:
                    continue  # nothing to do (no unpaid order to pay yet)
                elapsed = time.perf_counter() - started
                with self.lock:
                    self.latencies[route].append(elapsed)
                    self.statuses[route][str(status)] += 1

    def _browse(self, session: requests.Session, server: AppServer, rng: random.Random) -> str:
        if rng.random() < 0.5:
            path = f"/api/products/?page={rng.randint(1, 3)}"
        else:
            path = f"/api/products/{rng.choice(self.shop.product_ids)}/"
        return answer(session.get(server.url(path), timeout=30))

    def _cart(self, session: requests.Session, server: AppServer, rng: random.Random) -> str:
        customer = rng.randrange(len(self.shop.customers))
        headers = {"Authorization": f"Token {self.shop.customers[customer][0]}"}
        if rng.random() < 0.3:
            response = session.get(server.url("/api/cart/"), headers=headers, timeout=30)
            return answer(response)
        body = {"product_id": rng.choice(self.shop.product_ids), "quantity": rng.randint(1, 2)}
        response = session.post(
            server.url("/api/cart/items/"), json=body, headers=headers, timeout=30
        )
        if response.status_code == 201:
            with self.lock:
                self.filled.add(customer)
        return answer(response)

    def _checkout(self, session: requests.Session, server: AppServer, rng: random.Random) -> str:
        with self.lock:  # a customer who has put something in the cart, when there is one
            customer = self.filled.pop() if self.filled else rng.randrange(len(self.shop.customers))
        token, address_id = self.shop.customers[customer]
        response = session.post(
            server.url("/api/checkout/"),
            json={"payment_method": "paystack", "address_id": address_id},
            headers={"Authorization": f"Token {token}", "Idempotency-Key": str(uuid.uuid4())},
            timeout=30,
        )
        if response.status_code == 201:
            with self.lock:
                self.unpaid.append(response.json()["payment"]["reference"])
        return answer(response)

    def _webhook(
        self, session: requests.Session, server: AppServer, rng: random.Random
    ) -> str | None:
        with self.lock:
            if not self.unpaid:
                return None
            reference = self.unpaid.pop(rng.randrange(len(self.unpaid)))
        webhook = self.paystack.pay(reference)  # held: this thread delivers it
        with self.paystack.lock:
            self.paystack.held.clear()
        deliveries = 2 if rng.random() < 0.1 else 1  # the gateway's retry of the same bytes
        for _ in range(deliveries):
            response = session.post(
                server.url("/api/webhooks/paystack/"),
                data=webhook.body,
                headers=webhook.headers,
                timeout=30,
            )
        return answer(response)


def answer(response: requests.Response) -> str:
    """The status, with the error code of a refusal (``409 insufficient_stock``)."""
    if 400 <= response.status_code < 500:
        return f"{response.status_code} {response.json()['error']['code']}"
    return str(response.status_code)


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def processes(
    servers: list[AppServer], workers: list[CeleryWorker], beat: CeleryBeat
) -> dict[str, int]:
    named: dict[str, int] = {}
    for number, server in enumerate(servers, 1):
        assert server.process is not None
        named[f"gunicorn {number} master"] = server.process.pid
        for index, pid in enumerate(sorted(child_pids(server.process.pid)), 1):
            named[f"gunicorn {number} worker {index}"] = pid
    for number, worker in enumerate(workers, 1):
        assert worker.process is not None
        named[f"celery worker {number}"] = worker.process.pid
        for index, pid in enumerate(sorted(child_pids(worker.process.pid)), 1):
            named[f"celery worker {number} pool {index}"] = pid
    assert beat.process is not None
    named["beat"] = beat.process.pid
    return named


def database_connections(url: str) -> int:
    with psycopg.connect(url, autocommit=True) as conn:
        row = conn.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND pid <> pg_backend_pid()"
        ).fetchone()
    return int(row[0]) if row else 0


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * pct / 100))] * 1000


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--customers", type=int, default=1000)
    parser.add_argument("--products", type=int, default=60)
    parser.add_argument("--stock", type=int, default=150)
    args = parser.parse_args()

    db_url = soak_database_url(os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    recreate_database(db_url)
    workdir = Path(tempfile.mkdtemp(prefix="soak-"))
    smtp, paystack = FakeSmtpServer(), FakePaystack()
    paystack.start()
    smtp.start()
    paystack.auto_deliver = False
    redis_server = PrivateRedis(workdir).start()
    env = shop_environment(
        database=db_url,
        redis_url=redis_server.url,
        paystack=paystack,
        smtp=smtp,
        DB_CONN_MAX_AGE="60",
        # Abuse limits off: a few thousand customers on one address would trip them.
        THROTTLE_CHECKOUT_RATE="", THROTTLE_WEBHOOK_RATE="", THROTTLE_PAYMENT_RATE="",
        BEAT_SWEEP_LOCKS_SECONDS=str(SWEEP_SECONDS), BEAT_DISPATCH_NOTIFICATIONS_SECONDS="5",
        BEAT_REDRIVE_WEBHOOKS_SECONDS="30", BEAT_EXPIRE_ORDERS_SECONDS="30",
        BEAT_RECONCILE_PAYMENTS_SECONDS="60",
    )  # fmt: skip
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        cwd=ROOT, env=env, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    os.environ.update(env)
    import django

    django.setup()
    import soak_checks

    shop = soak_checks.build_shop(
        products=args.products, stock=args.stock, customers=args.customers
    )
    servers = [AppServer(dict(env), workers=2, name=f"soak{n}").start() for n in (1, 2)]
    workers = [CeleryWorker(dict(env), concurrency=2).start() for _ in range(2)]
    beat = CeleryBeat(dict(env)).start()
    load = Load(shop, servers, paystack)
    connections: list[int] = []
    try:
        threads = load.run(args.concurrency)
        print(f"soak: {args.minutes} min, {args.concurrency} clients, mix {MIX}", flush=True)
        time.sleep(WARM_UP_SECONDS)  # the soak's own schedule: warm-up before the first sample
        named = processes(servers, workers, beat)
        memory_start = {name: rss_mb(pid) for name, pid in named.items()}
        deadline = time.monotonic() + args.minutes * 60 - WARM_UP_SECONDS
        while time.monotonic() < deadline:
            connections.append(database_connections(db_url))
            time.sleep(min(10.0, max(0.0, deadline - time.monotonic())))  # sampling period
        memory_end = {name: rss_mb(pid) for name, pid in named.items()}
        load.stopping.set()
        for thread in threads:
            thread.join(timeout=60)
        drain_deadline = time.monotonic() + DRAIN_DEADLINE_SECONDS
        while not soak_checks.is_drained() and time.monotonic() < drain_deadline:
            time.sleep(1)  # polling the outbox and the webhook table, bounded by the deadline
        verdict = soak_checks.check_invariants(shop, emails_received=len(smtp.received))
    finally:
        beat.stop()
        for worker in workers:
            worker.stop()
        for server in servers:
            server.stop()
        redis_server.stop()
        paystack.stop()
        smtp.stop()
        shutil.rmtree(workdir, ignore_errors=True)
    return report(load, connections, memory_start, memory_end, verdict)


def report(
    load: Load,
    connections: list[int],
    memory_start: dict[str, float],
    memory_end: dict[str, float],
    verdict: Verdict,
) -> int:
    total = sum(sum(by_status.values()) for by_status in load.statuses.values())
    errors = sum(
        count
        for by_status in load.statuses.values()
        for status, count in by_status.items()
        if not status[:3].isdigit() or int(status[:3]) >= 500
    )
    print(f"\nrequests: {total}, errors (5xx or no answer): {errors} ({errors / total:.4%})")
    print(f"{'route':<10}{'requests':>10}{'p50 ms':>9}{'p99 ms':>9}  statuses")
    for route in MIX:
        values = load.latencies[route]
        if values:
            print(
                f"{route:<10}{len(values):>10}{percentile(values, 50):>9.1f}"
                f"{percentile(values, 99):>9.1f}  {dict(load.statuses[route])}"
            )
    print(
        f"\ndatabase connections (sampled every 10 s): min {min(connections)}, "
        f"max {max(connections)}, mean {statistics.mean(connections):.1f}, "
        f"last {connections[-1]}"
    )
    grown = []
    print(f"\n{'process':<28}{'start MB':>10}{'end MB':>10}{'growth':>9}")
    for name, start in memory_start.items():
        growth = memory_end[name] - start
        print(f"{name:<28}{start:>10.1f}{memory_end[name]:>10.1f}{growth:>+9.1f}")
        if growth > MEMORY_GROWTH_BOUND_MB:
            grown.append(name)
    print(f"memory bound: growth <= {MEMORY_GROWTH_BOUND_MB} MB per process after the warm-up")
    print("\ninvariants:")
    for name, value in verdict.figures.items():
        print(f"  {name}: {value}")
    failures = [*verdict.failures, *(f"{name} grew past the bound" for name in grown)]
    if errors:
        failures.append(f"{errors} requests failed")
    print("FAILED:\n  " + "\n  ".join(failures) if failures else "all invariants hold")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
