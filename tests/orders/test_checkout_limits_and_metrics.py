"""Checkout is rate limited per customer and counted on /metrics by outcome."""

import pytest
from django.test import override_settings

from inventory.models import InventoryLock
from orders.models import Order
from tests.factories import AddressFactory, ProductFactory
from tests.observability.test_metrics import METRICS_TOKEN, scrape, value
from tests.orders.helpers import fill_cart

pytestmark = pytest.mark.django_db


def checkout(client, address, key):
    return client.post(
        "/api/checkout/",
        {"payment_method": "cod", "address_id": address.pk},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )


@override_settings(THROTTLE_CHECKOUT_RATE="3/min")
def test_a_customer_over_the_checkout_limit_gets_429_and_nothing_is_placed(
    customer, customer_client, other_customer, other_client, ratelimit_clock
):
    product = ProductFactory(stock=100)
    mine, theirs = AddressFactory(customer=customer), AddressFactory(customer=other_customer)
    for attempt in range(3):
        fill_cart(customer, [(product, 1)])
        assert checkout(customer_client, mine, f"k{attempt}").status_code == 201

    fill_cart(customer, [(product, 1)])
    refused = checkout(customer_client, mine, "k3")
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "throttled"
    assert int(refused["Retry-After"]) > 0
    assert Order.objects.filter(customer=customer).count() == 3

    fill_cart(other_customer, [(product, 1)])  # the limit is per customer
    assert checkout(other_client, theirs, "k0").status_code == 201

    ratelimit_clock.advance(61)
    assert checkout(customer_client, mine, "k3").status_code == 201


@override_settings(METRICS_TOKEN=METRICS_TOKEN, METRICS_ALLOWED_IPS=[])
def test_checkouts_and_stock_locks_show_on_metrics(client, customer, customer_client):
    cream = ProductFactory(sku="CREAM-1", stock=5)
    address = AddressFactory(customer=customer)
    before = scrape(client)

    fill_cart(customer, [(cream, 2)])
    assert checkout(customer_client, address, "a").status_code == 201
    assert checkout(customer_client, address, "a").status_code == 201  # replayed
    fill_cart(customer, [(cream, 9)])
    assert checkout(customer_client, address, "b").status_code == 409

    after = scrape(client)
    for outcome, delta in [("placed", 1), ("replayed", 1), ("insufficient_stock", 1)]:
        grew = value(after, "checkouts_total", outcome=outcome) - value(
            before, "checkouts_total", outcome=outcome
        )
        assert grew == delta, outcome
    assert value(after, "inventory_locks", state="active") == InventoryLock.objects.count() == 1
    assert value(after, "inventory_locked_units", sku="CREAM-1") == 2
