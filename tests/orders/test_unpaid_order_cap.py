"""At most checkout.max_unpaid_orders_per_customer open unpaid orders per customer."""

import threading
from collections import Counter

import pytest

from inventory.models import InventoryLock
from orders.models import IdempotencyKey, Order
from orders.services import cancel_order, mark_paid, mark_payment_failed
from orders.states import ActorType
from shop.models import CartItem
from shop.platform_settings import set_setting
from tests.conftest import client_for
from tests.factories import AddressFactory, OrderFactory, ProductFactory, UserFactory
from tests.orders.helpers import fill_cart, place
from tests.orders.test_checkout_concurrency import checkout_call, run_at_once
from tests.orders.test_checkout_consumes_the_cart import read_then


def checkout(client, address, key, method="bank_transfer"):
    response = client.post(
        "/api/checkout/",
        {"payment_method": method, "address_id": address.pk},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )
    return response


def open_unpaid_orders(customer, product, count: int) -> list[Order]:
    """``count`` open unpaid orders: bank transfer, cash on delivery, and a failed payment."""
    methods = ["bank_transfer", "cod", "paystack"]
    orders = [
        place(customer, [(product, 1)], payment_method=methods[n % 3]).order for n in range(count)
    ]
    failed = next((o for o in orders if o.payment_method == "paystack"), None)
    if failed is not None:
        mark_payment_failed(order_id=failed.pk)
    return orders


@pytest.mark.django_db
def test_the_sixth_open_unpaid_order_is_refused_and_nothing_is_written(customer, customer_client):
    product = ProductFactory(stock=50)
    address = AddressFactory(customer=customer)
    open_unpaid_orders(customer, product, 5)
    locks_before = InventoryLock.objects.count()
    fill_cart(customer, [(product, 2)])

    refused = checkout(customer_client, address, "sixth")

    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "too_many_unpaid_orders"
    assert refused.json()["error"]["details"] == {"unpaid_orders": 5, "limit": 5}
    assert Order.objects.filter(customer=customer).count() == 5
    assert not IdempotencyKey.objects.filter(customer=customer).exists()
    assert InventoryLock.objects.count() == locks_before
    assert CartItem.objects.filter(cart__customer=customer).count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize("settle", ["pay", "cancel"])
def test_paying_or_cancelling_an_unpaid_order_frees_a_place(customer, customer_client, settle):
    product = ProductFactory(stock=50)
    address = AddressFactory(customer=customer)
    first, *_ = open_unpaid_orders(customer, product, 5)
    fill_cart(customer, [(product, 1)])
    assert checkout(customer_client, address, "k").status_code == 409

    if settle == "pay":
        mark_paid(order_id=first.pk, amount=first.total, currency=first.currency)
    else:
        cancel_order(order_id=first.pk, actor_type=ActorType.CUSTOMER, actor=customer)

    assert checkout(customer_client, address, "k").status_code == 201


@pytest.mark.django_db
def test_the_cap_is_a_platform_setting_and_counts_only_this_customers_open_unpaid_orders(
    customer, customer_client
):
    set_setting("checkout.max_unpaid_orders_per_customer", 2)
    product = ProductFactory(stock=50)
    address = AddressFactory(customer=customer)
    for state in ("paid", "cancelled", "delivered", "processing"):
        OrderFactory(customer=customer, state=state)
    OrderFactory.create_batch(3, customer=UserFactory(), state="pending_payment")
    open_unpaid_orders(customer, product, 1)
    # A three-line cart: the count travels on every line of the cart read.
    lines = [(ProductFactory(stock=5), 1) for _ in range(3)]

    fill_cart(customer, lines)
    assert checkout(customer_client, address, "second").status_code == 201
    fill_cart(customer, lines)
    refused = checkout(customer_client, address, "third")
    assert refused.status_code == 409
    assert refused.json()["error"]["details"] == {"unpaid_orders": 2, "limit": 2}


@pytest.mark.django_db
def test_a_retry_of_a_placed_order_still_replays_at_the_cap(customer, customer_client):
    product = ProductFactory(stock=50)
    address = AddressFactory(customer=customer)
    open_unpaid_orders(customer, product, 4)
    fill_cart(customer, [(product, 1)])
    placed = checkout(customer_client, address, "fifth")
    assert placed.status_code == 201

    fill_cart(customer, [(product, 1)])  # even with a cart again
    replayed = checkout(customer_client, address, "fifth")

    assert replayed.status_code == 201
    assert replayed["Idempotent-Replayed"] == "true"
    assert replayed.json() == placed.json()


@pytest.mark.django_db(transaction=True)
def test_concurrent_checkouts_at_the_cap_border_place_one_order(monkeypatch):
    """Four requests with different keys all read "4 unpaid orders" (a barrier after the
    read): only one consumes the cart, so the customer never gets past the cap."""
    customer = UserFactory()
    address = AddressFactory(customer=customer)
    product = ProductFactory(stock=50)
    open_unpaid_orders(customer, product, 4)
    fill_cart(customer, [(product, 1)])
    client = client_for(customer)
    all_read = threading.Barrier(4)
    read_then(monkeypatch, lambda: all_read.wait(timeout=30))

    results = run_at_once([checkout_call(client, address, key=f"k-{n}") for n in range(4)])

    assert Counter(results) == {(201, None, None): 1, (409, "cart_changed", None): 3}
    assert (
        Order.objects.filter(
            customer=customer, state__in=["pending_payment", "payment_failed"]
        ).count()
        == 5
    )
