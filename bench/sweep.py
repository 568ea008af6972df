"""Lock-sweep benchmark: how long the beat sweep takes to delete 100,000 expired locks.

    .venv/bin/python bench/sweep.py [--expired 100000] [--live 20000] [--batch-size 5000]

Creates a throw-away database (``<name>_sweep_bench`` beside the one in BENCH_DATABASE_URL or
DATABASE_URL), migrates it, inserts the expired locks (spread over 500 products, as after a
long outage of the beat) plus live locks that must survive, then runs
``inventory.services.sweep_expired_batches`` the way the beat task does and prints the time,
the batches, and the longest single batch (how long one DELETE holds its rows).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DEFAULT_DB = "postgres://postgres@127.0.0.1:5432/shop"


def bench_database_url(base: str) -> str:
    parts = urlsplit(base)
    name = parts.path.lstrip("/") or "shop"
    return urlunsplit(parts._replace(path=f"/{name}_sweep_bench"))


def recreate_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    name = parts.path.lstrip("/")
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


def drop_database(url: str) -> None:
    import psycopg

    parts = urlsplit(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')


def load_locks(expired: int, live: int, products: int) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO shop_product (sku, name, description, price, currency, stock, is_active,
                                      created_at, updated_at)
            SELECT 'BENCH-' || g, 'Bench product ' || g, '', 1000, 'NGN', 1000000, true,
                   now(), now()
            FROM generate_series(1, %s) g
            """,
            [products],
        )
        cursor.execute("SELECT min(id) FROM shop_product")
        first = cursor.fetchone()[0]
        cursor.execute(
            """
            INSERT INTO inventory_inventorylock (product_id, owner, quantity, expires_at,
                                                 created_at)
            SELECT %s + (g %% %s), 'EXP-' || g, 1, now() - interval '1 hour', now()
            FROM generate_series(1, %s) g
            UNION ALL
            SELECT %s + (g %% %s), 'LIVE-' || g, 1, now() + interval '1 hour', now()
            FROM generate_series(1, %s) g
            """,
            [first, products, expired, first, products, live],
        )
        cursor.execute("ANALYZE inventory_inventorylock")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--expired", type=int, default=100_000)
    parser.add_argument("--live", type=int, default=20_000)
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--batch-size", type=int, default=5000)
    parser.add_argument("--keep", action="store_true", help="keep the bench database")
    args = parser.parse_args()

    base_url = os.environ.get("BENCH_DATABASE_URL", os.environ.get("DATABASE_URL", DEFAULT_DB))
    db_url = bench_database_url(base_url)
    env = dict(
        os.environ,
        DATABASE_URL=db_url,
        SECRET_KEY="bench-secret-key-" + uuid.uuid4().hex * 2,
        DEBUG="0",
        LOG_LEVEL="WARNING",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    env.pop("REDIS_URL", None)
    recreate_database(db_url)
    subprocess.run(
        [sys.executable, "manage.py", "migrate", "--noinput"],
        env=env, check=True, cwd=ROOT, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    os.environ.update(env)
    os.environ.pop("REDIS_URL", None)
    import django

    django.setup()
    from inventory.models import InventoryLock
    from inventory.services import sweep_expired_batches

    try:
        load_locks(args.expired, args.live, args.products)
        batch_times: list[float] = []
        started = time.perf_counter()
        deleted = batches = 0
        while True:
            t0 = time.perf_counter()
            report = sweep_expired_batches(batch_size=args.batch_size, max_batches=1)
            batch_times.append(time.perf_counter() - t0)
            deleted += report.deleted
            batches += report.batches
            if report.deleted < args.batch_size:
                break
        elapsed = time.perf_counter() - started
        remaining_live = InventoryLock.objects.count()
        print(
            f"swept {deleted:,} expired locks ({args.live:,} live locks kept: "
            f"{remaining_live:,} left) in {elapsed:.2f} s: {batches} batches of "
            f"{args.batch_size:,}, longest batch {max(batch_times) * 1000:.0f} ms, "
            f"{deleted / elapsed:,.0f} locks/s"
        )
        if deleted != args.expired or remaining_live != args.live:
            raise SystemExit("sweep deleted the wrong rows")
    finally:
        from django.db import connection

        connection.close()
        if not args.keep:
            drop_database(db_url)


if __name__ == "__main__":
    main()
