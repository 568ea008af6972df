"""Real threads, each with its own PostgreSQL connection, checking out at the same instant."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from inventory.models import InventoryLock
from inventory.selectors import get_available_stocks
from orders.models import Order
from shop.models import Product
from tests.conftest import client_for
from tests.factories import AddressFactory, ProductFactory, UserFactory
from tests.orders.helpers import fill_cart

pytestmark = pytest.mark.django_db(transaction=True)


def run_at_once(calls):
    """Run the callables in parallel threads released together; returns their results."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        try:
            barrier.wait(timeout=30)
            return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def ready_customer(lines):
    customer = UserFactory()
    address = AddressFactory(customer=customer)
    fill_cart(customer, lines)
    return client_for(customer), address


def checkout_call(client, address, key="k-1"):
    def call():
        response = client.post(
            "/api/checkout/",
            {"payment_method": "bank_transfer", "address_id": address.pk},
            format="json",
            HTTP_IDEMPOTENCY_KEY=key,
        )
        body = response.json()
        code = body["error"]["code"] if "error" in body else None
        return response.status_code, code, response.get("Idempotent-Replayed")

    return call


def test_fifty_customers_racing_for_the_last_ten_units_never_oversell():
    product = ProductFactory(stock=10)
    customers = [ready_customer([(product, 1)]) for _ in range(50)]

    results = run_at_once([checkout_call(client, address) for client, address in customers])

    assert Counter((status, code) for status, code, _ in results) == {
        (201, None): 10,
        (409, "insufficient_stock"): 40,
    }
    assert Order.objects.count() == 10
    assert sum(InventoryLock.objects.values_list("quantity", flat=True)) == 10
    assert Product.objects.get(pk=product.pk).stock == 10  # held, not yet sold
    assert get_available_stocks([product.pk]) == {product.pk: 0}


def test_multi_product_carts_in_opposite_orders_neither_deadlock_nor_oversell():
    first, second, third = (ProductFactory(stock=7) for _ in range(3))
    orderings = [
        [(first, 1), (second, 1), (third, 1)],
        [(third, 1), (second, 1), (first, 1)],
        [(second, 1), (third, 1), (first, 1)],
    ]
    customers = [ready_customer(orderings[i % 3]) for i in range(21)]

    results = run_at_once([checkout_call(client, address) for client, address in customers])

    assert Counter((status, code) for status, code, _ in results) == {
        (201, None): 7,
        (409, "insufficient_stock"): 14,
    }
    held = Counter()
    for product_id, quantity in InventoryLock.objects.values_list("product_id", "quantity"):
        held[product_id] += quantity
    assert held == {first.pk: 7, second.pk: 7, third.pk: 7}
    assert get_available_stocks([first.pk, second.pk, third.pk]) == {
        first.pk: 0,
        second.pk: 0,
        third.pk: 0,
    }


def test_same_idempotency_key_from_ten_threads_places_one_order():
    product = ProductFactory(stock=100)
    client, address = ready_customer([(product, 2)])

    results = run_at_once([checkout_call(client, address, key="same-key") for _ in range(10)])

    fresh = [r for r in results if r == (201, None, None)]
    assert len(fresh) == 1
    others = Counter(results) - Counter(fresh)
    assert set(others) <= {(201, None, "true"), (409, "request_in_progress", None)}
    assert sum(others.values()) == 9
    assert Order.objects.count() == 1
    assert list(InventoryLock.objects.values_list("quantity", flat=True)) == [2]


def test_payment_racing_expiry_ends_in_exactly_one_outcome_per_order():
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from config.errors import DomainError
    from orders import services
    from orders.models import OrderEvent
    from tests.orders.helpers import place

    product = ProductFactory(stock=20, price=Decimal("100.00"))
    orders = [place(UserFactory(), [(product, 1)]).order for _ in range(10)]
    Order.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    def pay(order):
        def call():
            try:
                services.mark_paid(order_id=order.pk, amount=Decimal("100.00"), currency="NGN")
            except DomainError as exc:
                return exc.code
            return "paid"

        return call

    def expire(order):
        def call():
            return "expired" if services.expire_order(order_id=order.pk) else "not_due"

        return call

    calls = [f(order) for order in orders for f in (pay, expire)]
    results = run_at_once(calls)

    for index, order in enumerate(orders):
        paid, expired = results[2 * index], results[2 * index + 1]
        assert (paid, expired) in {("paid", "not_due"), ("invalid_transition", "expired")}
        kinds = list(OrderEvent.objects.filter(order=order).values_list("kind", flat=True))
        assert kinds == ["placed", "paid" if paid == "paid" else "expired"]
    sold = Order.objects.filter(state="paid").count()
    assert Product.objects.get(pk=product.pk).stock == 20 - sold
    assert InventoryLock.objects.count() == 0
