"""Shared helpers of the payment flow tests: place an order through the API, poll the DB."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from typing import Any

from django.db import connection

from orders.models import Order
from tests.factories import AddressFactory, CartFactory, CartItemFactory, ProductFactory

DEADLINE_SECONDS = 20.0


def wait_for(check: Callable[[], Any], *, timeout: float = DEADLINE_SECONDS, what: str = "") -> Any:
    """Poll ``check`` until it returns something truthy, or fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        result = check()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"Timed out waiting for {what or check}")
        # Not a sleep to wait for something: a short pause between database polls.
        connection.close_if_unusable_or_obsolete()
        time.sleep(0.05)


def order_state(order_id: int) -> str:
    return Order.objects.values_list("state", flat=True).get(pk=order_id)


def place_order(client, customer, *, method: str, product=None, quantity: int = 2, price="2500.00"):
    """Checkout of ``quantity`` units of one product; returns (response, product)."""
    product = product or ProductFactory(price=price, stock=10)
    cart = CartFactory(customer=customer, currency=product.currency)
    CartItemFactory(cart=cart, product=product, quantity=quantity)
    address = AddressFactory(customer=customer)
    response = client.post(
        "/api/checkout/",
        {"payment_method": method, "address_id": address.pk},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )
    return response, product


def place_dummy_order(settings, client, customer):
    """A checkout through the dev-only dummy gateway (DEBUG on, dummy allowed); returns
    (response, order)."""
    from shop.platform_settings import set_setting

    settings.DEBUG = True
    set_setting("checkout.allowed_payment_methods", ["dummy"])
    response, _product = place_order(client, customer, method="dummy")
    assert response.status_code == 201, response.content
    return response, Order.objects.get(pk=response.json()["id"])
