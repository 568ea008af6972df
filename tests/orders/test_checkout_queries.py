"""The checkout's SQL statement count is small and does not grow with the cart."""

from contextlib import nullcontext

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory.models import InventoryLock
from orders.models import IdempotencyKey
from shop.platform_settings import get_setting
from tests.conftest import client_for
from tests.factories import AddressFactory, ProductFactory, UserFactory
from tests.orders.helpers import fill_cart

pytestmark = pytest.mark.django_db

TRANSACTION_CONTROL = ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE SAVEPOINT")


def statements_of_one_checkout(cart_size: int) -> list[str]:
    customer = UserFactory()
    address = AddressFactory(customer=customer)
    fill_cart(customer, [(ProductFactory(stock=50), 1 + i % 3) for i in range(cart_size)])
    client = client_for(customer)
    get_setting("checkout.lock_ttl_minutes")  # settings are cached; measure the steady state
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            "/api/checkout/",
            {"payment_method": "bank_transfer", "address_id": address.pk},
            format="json",
            HTTP_IDEMPOTENCY_KEY=f"size-{cart_size}",
        )
    assert response.status_code == 201, response.json()
    return [
        q["sql"]
        for q in captured.captured_queries
        if not q["sql"].upper().startswith(TRANSACTION_CONTROL)
    ]


def test_checkout_statement_count_is_small_and_constant_in_cart_size():
    one = statements_of_one_checkout(1)
    twenty = statements_of_one_checkout(20)
    assert len(one) <= 15, "\n".join(one)
    assert len(twenty) <= 15, "\n".join(twenty)
    assert len(twenty) - len(one) <= 2, "\n".join(twenty)


WRITES = ("INSERT", "UPDATE", "DELETE")


def _writes(captured) -> list[str]:
    return [
        q["sql"] for q in captured.captured_queries if q["sql"].lstrip().upper().startswith(WRITES)
    ]


def _new_buyer_checks_out(product, *, captured_by=None):
    """A new customer with ``product`` in the cart checks out; returns the response."""
    buyer = UserFactory()
    fill_cart(buyer, [(product, 1)])
    client, address = client_for(buyer), AddressFactory(customer=buyer)
    with captured_by if captured_by is not None else nullcontext():
        return client.post(
            "/api/checkout/",
            {"payment_method": "bank_transfer", "address_id": address.pk},
            format="json",
            HTTP_IDEMPOTENCY_KEY="buy",
        )


def test_a_buyer_after_the_sell_out_is_refused_before_anything_is_written():
    product = ProductFactory(stock=2, sku="LAST-2")
    for _ in range(2):
        placed = _new_buyer_checks_out(product)
        assert placed.status_code == 201, placed.json()
    captured = CaptureQueriesContext(connection)
    refused = _new_buyer_checks_out(product, captured_by=captured)
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "insufficient_stock"
    assert error["details"]["products"] == [
        {"product_id": product.pk, "sku": "LAST-2", "name": product.name, "requested": 1,
         "available": 0}
    ]  # fmt: skip
    # Refused on the cart read, which also read the key: no key is claimed and given back,
    # no order is written and rolled back, no product row is locked.
    assert _writes(captured) == []
    assert not [q for q in captured.captured_queries if "FOR NO KEY UPDATE" in q["sql"]]
    assert not IdempotencyKey.objects.filter(key="buy", customer__orders__isnull=True).exists()


def test_a_stale_hold_bound_does_not_refuse_a_buyer_when_stock_is_free():
    product = ProductFactory(stock=1)
    assert _new_buyer_checks_out(product).status_code == 201
    # The first order's lock expires: the unit is free again, but the bound still counts it.
    InventoryLock.objects.update(expires_at=timezone.now())
    response = _new_buyer_checks_out(product)
    assert response.status_code == 201, response.json()
