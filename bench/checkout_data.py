"""The checkout benchmark's data: scenarios of customers with API tokens, addresses and ready
carts, the SQL statements of one checkout, and the oversell check after a run."""

from __future__ import annotations

import json
import random
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

SKIP_SQL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO")


@dataclass
class Scenario:
    name: str
    description: str
    carts: list[list[tuple[int, int]]] = field(default_factory=list)  # per customer: (product, qty)
    tokens: list[str] = field(default_factory=list)
    addresses: list[int] = field(default_factory=list)
    initial_stock: dict[int, int] = field(default_factory=dict)


def api_tokens(users: list[Any]) -> list[str]:
    """A sign-in token per user, stored as the app stores them (django-rest-knox: the digest
    and a prefix), written in one statement."""
    from django.utils import timezone
    from knox.crypto import create_token_string, hash_token
    from knox.models import AuthToken
    from knox.settings import CONSTANTS

    tokens = [create_token_string() for _ in users]
    expiry = timezone.now() + timedelta(days=1)
    AuthToken.objects.bulk_create(
        [
            AuthToken(digest=hash_token(token), token_key=token[: CONSTANTS.TOKEN_KEY_LENGTH],
                      user=user, expiry=expiry)
            for user, token in zip(users, tokens, strict=True)
        ],
        batch_size=2000,
    )  # fmt: skip
    return tokens


def build_scenarios(customers: int, seed: int, warmup: int) -> tuple[Scenario, list[Scenario]]:
    from django.contrib.auth.hashers import make_password

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
        tokens = api_tokens(users)
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
        scenario.tokens = tokens
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

    from shop.models import Address, Cart, CartItem, Product, User

    user = User.objects.create_user(
        email=f"probe-{uuid.uuid4().hex[:8]}@bench.example", password="bench-password-123"
    )
    (token,) = api_tokens([user])
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
    client = Client(HTTP_AUTHORIZATION=f"Token {token}", HTTP_HOST="127.0.0.1")
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
