"""What the project's PostgreSQL backend (``core.db.backends.postgresql``) is worth to checkout.

    .venv/bin/python bench/backend.py [--pairs 3] [--checkouts 150] [--rounds 5]

Serial checkouts in-process (Django's test client, the whole request: authentication, DRF,
the Idempotency-Key, the SQL) with each backend, alternated in fresh processes ``--pairs``
times in one sitting; for each, the client's CPU per checkout (the minimum over rounds), the
wall time per checkout and the statements of one checkout:

  project  the backend as configured: checkout's writes held and sent as one statement,
           in one round trip with the stock reservation
  django   Django's stock backend: ``core.sql`` then sends every write on its own

Figures in docs/performance.md ("The database backend").
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from checkout import DEFAULT_DB, bench_database_url, recreate_database, run  # noqa: E402

VARIANTS = ("project", "django")


def measure(variant: str, checkouts: int, rounds: int) -> dict[str, Any]:
    """In the child process: ``rounds`` rounds of ``checkouts`` serial checkouts."""
    import django
    from django.conf import settings

    if variant == "django":  # before any connection is made (setup makes one)
        settings.DATABASES["default"]["ENGINE"] = "django.db.backends.postgresql"
    django.setup()
    from checkout_data import SKIP_SQL, api_tokens
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from shop.models import Address, Cart, CartItem, Product, User

    product = Product.objects.create(
        sku=f"BACKEND-{uuid.uuid4().hex[:8]}", name="backend bench", price="1500.00",
        currency="NGN", stock=10 * checkouts * (rounds + 1),
    )  # fmt: skip
    tag = uuid.uuid4().hex[:8]
    users = User.objects.bulk_create(
        User(email=f"backend-{tag}-{i}@bench.example") for i in range(checkouts * (rounds + 1) + 1)
    )
    tokens = api_tokens(users)
    addresses = Address.objects.bulk_create(
        Address(customer=u, full_name="Bench", phone="+2348031234567", line1="1 Bench Road",
                city="Lagos", country="NG")
        for u in users
    )  # fmt: skip
    carts = Cart.objects.bulk_create(Cart(customer=u, currency="NGN") for u in users)
    CartItem.objects.bulk_create(CartItem(cart=c, product=product, quantity=1) for c in carts)
    client = Client(HTTP_HOST="127.0.0.1")

    def checkout(i: int) -> None:
        response = client.post(
            "/api/checkout/",
            data=json.dumps({"payment_method": "cod", "address_id": addresses[i].pk}),
            content_type="application/json",
            HTTP_AUTHORIZATION=f"Token {tokens[i]}",
            HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
        )
        if response.status_code != 201:
            raise SystemExit(f"{variant}: checkout failed: {response.content!r}")

    cpu, wall = [], []
    for r in range(rounds + 1):  # round 0 warms up: imports, prepared statements, caches
        cpu_started, wall_started = time.process_time(), time.perf_counter()
        for i in range(r * checkouts, (r + 1) * checkouts):
            checkout(i)
        if r:
            cpu.append((time.process_time() - cpu_started) * 1000 / checkouts)
            wall.append((time.perf_counter() - wall_started) * 1000 / checkouts)
    with CaptureQueriesContext(connection) as captured:
        checkout(len(users) - 1)
    statements = [q["sql"] for q in captured.captured_queries]
    return {
        "variant": variant,
        "engine": connection.settings_dict["ENGINE"],
        "cpu_ms": min(cpu),
        "wall_ms": min(wall),
        "statements": sum(1 for q in statements if not q.upper().startswith(SKIP_SQL)),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--checkouts", type=int, default=150, help="checkouts per round")
    parser.add_argument("--rounds", type=int, default=5, help="measured rounds per process")
    parser.add_argument("--child", choices=VARIANTS, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(measure(args.child, args.checkouts, args.rounds)))
        return

    base_url = os.environ.get("BENCH_DATABASE_URL", os.environ.get("DATABASE_URL", DEFAULT_DB))
    env = dict(
        os.environ,
        DATABASE_URL=bench_database_url(base_url),
        REDIS_URL=os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/9"),
        SECRET_KEY="bench-secret-key-" + uuid.uuid4().hex * 2,
        DEBUG="0",
        LOG_LEVEL="ERROR",
        DJANGO_SETTINGS_MODULE="config.settings",
    )
    recreate_database(env["DATABASE_URL"])
    run([sys.executable, "manage.py", "migrate", "--noinput"], env)
    results: dict[str, list[dict[str, Any]]] = {variant: [] for variant in VARIANTS}
    for pair in range(args.pairs):
        for variant in VARIANTS:
            out = subprocess.run(
                [sys.executable, __file__, "--child", variant, "--checkouts",
                 str(args.checkouts), "--rounds", str(args.rounds)],
                env=env, cwd=ROOT, check=True, capture_output=True, text=True,
            ).stdout  # fmt: skip
            figure = json.loads(out.strip().splitlines()[-1])
            results[variant].append(figure)
            print(
                f"pair {pair + 1}  {variant:8} {figure['cpu_ms']:5.2f} ms CPU, "
                f"{figure['wall_ms']:5.2f} ms wall per checkout, "
                f"{figure['statements']} statements ({figure['engine']})"
            )
    best = {key: min(f[key] for f in results["project"]) for key in ("cpu_ms", "wall_ms")}
    print("\nbackend   CPU ms (min)  vs project   wall ms (min)  vs project")
    for variant, figures in results.items():
        cpu, wall = (min(f[key] for f in figures) for key in ("cpu_ms", "wall_ms"))
        print(
            f"{variant:8} {cpu:13.2f} {cpu / best['cpu_ms'] - 1:+11.1%} "
            f"{wall:15.2f} {wall / best['wall_ms'] - 1:+11.1%}"
        )


if __name__ == "__main__":
    main()
