"""Checkout consumes exactly the cart lines it read, or places nothing (cart_changed)."""

import threading
from collections import Counter

import pytest
from django.db import connection

from inventory.models import InventoryLock
from inventory.selectors import get_available_stocks
from notifications.models import Notification
from orders.checkout import service as checkout_module
from orders.models import IdempotencyKey, Order, OrderEvent
from shop.models import CartItem
from tests.factories import ProductFactory
from tests.orders.test_checkout_concurrency import checkout_call, ready_customer, run_at_once


def read_then(monkeypatch, action):
    """Run ``action()`` after checkout read the cart and before it writes anything."""
    build = checkout_module.build

    def built_then_act(*args, **kwargs):
        built = build(*args, **kwargs)
        action()
        return built

    monkeypatch.setattr(checkout_module, "build", built_then_act)


def assert_nothing_written(customer_id, cart_lines_left: int):
    assert Order.objects.filter(customer_id=customer_id).count() == 0
    assert not IdempotencyKey.objects.filter(customer_id=customer_id).exists()
    assert InventoryLock.objects.count() == 0
    assert CartItem.objects.filter(cart__customer_id=customer_id).count() == cart_lines_left


@pytest.mark.django_db
def test_a_line_whose_quantity_changed_after_the_read_fails_the_checkout(monkeypatch):
    serum, soap = ProductFactory.create(stock=10), ProductFactory.create(stock=10)
    client, address = ready_customer([(serum, 1), (soap, 2)])
    read_then(monkeypatch, lambda: CartItem.objects.filter(product=soap).update(quantity=5))

    assert checkout_call(client, address)() == (409, "cart_changed", None)
    assert_nothing_written(address.customer_id, cart_lines_left=2)


def in_another_connection(action):
    """Run ``action`` as another request would: its own connection, committed at once."""

    def run():
        try:
            action()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)


@pytest.mark.django_db(transaction=True)  # the removal commits on a connection of its own
def test_a_line_removed_after_the_read_fails_the_checkout(monkeypatch):
    serum, soap = ProductFactory.create(stock=10), ProductFactory.create(stock=10)
    client, address = ready_customer([(serum, 1), (soap, 2)])
    read_then(
        monkeypatch,
        lambda: in_another_connection(CartItem.objects.filter(product=soap).delete),
    )

    response = client.post(
        "/api/checkout/",
        {"payment_method": "bank_transfer", "address_id": address.pk},
        format="json",
        HTTP_IDEMPOTENCY_KEY="k-1",
    )

    assert response.status_code == 409
    error = response.json()["error"]
    assert error["code"] == "cart_changed"
    assert "review the cart" in error["message"]
    assert error["details"] == {"lines_read": 2, "lines_consumed": 1}
    assert_nothing_written(address.customer_id, cart_lines_left=1)
    monkeypatch.undo()
    assert checkout_call(client, address)() == (201, None, None)  # the key was not used up


@pytest.mark.django_db
def test_a_line_added_after_the_read_stays_in_the_cart_unbought(monkeypatch):
    serum, late = ProductFactory.create(stock=10), ProductFactory.create(stock=10)
    client, address = ready_customer([(serum, 1)])
    cart_id = CartItem.objects.get(product=serum).cart_id
    read_then(
        monkeypatch, lambda: CartItem.objects.create(cart_id=cart_id, product=late, quantity=1)
    )

    assert checkout_call(client, address)() == (201, None, None)
    order = Order.objects.get()
    assert list(order.items.values_list("product_id", flat=True)) == [serum.pk]
    assert list(CartItem.objects.values_list("product_id", flat=True)) == [late.pk]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("checkouts", [2, 4])
def test_concurrent_checkouts_of_one_cart_with_different_keys_place_one_order(
    monkeypatch, checkouts
):
    """A double click in a client that makes a key per click: every request has read the cart
    before any writes (a barrier after the read), so all of them race to consume the lines."""
    serum, soap = ProductFactory.create(stock=10), ProductFactory.create(stock=10)
    client, address = ready_customer([(serum, 2), (soap, 1)])
    all_read = threading.Barrier(checkouts)
    read_then(monkeypatch, lambda: all_read.wait(timeout=30))

    results = run_at_once(
        [checkout_call(client, address, key=f"click-{n}") for n in range(checkouts)]
    )

    assert Counter(results) == {(201, None, None): 1, (409, "cart_changed", None): checkouts - 1}
    order = Order.objects.get()
    assert IdempotencyKey.objects.count() == 1
    assert OrderEvent.objects.count() == 1
    assert set(Notification.objects.values_list("dedup_key", flat=True)) <= {
        f"order_placed:{order.number}:placed:email",
        f"order_placed:{order.number}:placed:sms",
    }
    assert Counter(dict(InventoryLock.objects.values_list("product_id", "quantity"))) == {
        serum.pk: 2,
        soap.pk: 1,
    }
    assert set(InventoryLock.objects.values_list("owner", flat=True)) == {order.number}
    assert get_available_stocks([serum.pk, soap.pk]) == {serum.pk: 8, soap.pk: 9}
    assert not CartItem.objects.exists()


@pytest.mark.django_db(transaction=True)
def test_concurrent_checkouts_without_a_barrier_still_place_one_order():
    product = ProductFactory.create(stock=10)
    client, address = ready_customer([(product, 3)])

    results = run_at_once([checkout_call(client, address, key=f"click-{n}") for n in range(5)])

    placed = [r for r in results if r[0] == 201]
    assert placed == [(201, None, None)]
    # The others read the cart before or after the first one emptied it.
    assert {r[:2] for r in results if r[0] != 201} <= {(409, "cart_changed"), (400, "cart_empty")}
    assert Order.objects.count() == 1
    assert IdempotencyKey.objects.count() == 1
    assert sum(InventoryLock.objects.values_list("quantity", flat=True)) == 3
