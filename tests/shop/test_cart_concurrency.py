"""Two requests on one cart at once (two tabs, a double-clicked button) must not lose units."""

import threading

import pytest
from django.db import connection

from shop import services
from shop.models import Cart, CartItem
from tests.factories import ProductFactory, UserFactory

THREADS = 6
pytestmark = pytest.mark.usefixtures("database_route")  # straight, then through PgBouncer


def _run_together(target, count: int) -> list[BaseException]:
    barrier = threading.Barrier(count)
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            barrier.wait(timeout=10)
            target(n)
        except BaseException as exc:  # reported to the test, which fails on any
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert not any(thread.is_alive() for thread in threads), "a cart write hung"
    return errors


@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_of_one_product_make_one_line_with_the_sum():
    customer = UserFactory()
    product = ProductFactory(stock=50)

    errors = _run_together(
        lambda n: services.cart_add_item(customer=customer, product_id=product.pk, quantity=n + 1),
        THREADS,
    )

    assert errors == []
    assert Cart.objects.filter(customer=customer).count() == 1
    assert list(CartItem.objects.values_list("product_id", "quantity")) == [
        (product.pk, sum(range(1, THREADS + 1)))
    ]


@pytest.mark.django_db(transaction=True)
def test_concurrent_adds_cannot_push_a_line_past_available_stock():
    customer = UserFactory()
    product = ProductFactory(stock=10)

    errors = _run_together(
        lambda n: services.cart_add_item(customer=customer, product_id=product.pk, quantity=3),
        THREADS,
    )

    assert [type(e).__name__ for e in errors] == ["InsufficientStock"] * (THREADS - 3)
    assert list(CartItem.objects.values_list("quantity", flat=True)) == [9]
