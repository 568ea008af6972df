"""The checkout's SQL statement count is small and does not grow with the cart."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

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
