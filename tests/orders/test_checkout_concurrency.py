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
