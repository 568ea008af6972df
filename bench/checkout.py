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
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import uuid
from decimal import Decimal
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

# bench/: this folder (the script's own directory is first on sys.path)
from checkout_data import Scenario, build_scenarios, oversold_units, queries_per_checkout  # noqa: E402
from load import checkout_request, fire, floor_request, percentile  # noqa: E402
from measure import CpuMeter, database_ceiling, start_gunicorn  # noqa: E402

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/shop"


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


def checkout_requests(port: int, scenario: Scenario) -> list[bytes]:
    return [
        checkout_request(port, token, address)
        for token, address in zip(scenario.tokens, scenario.addresses, strict=True)
    ]


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
