"""A checkout that names no payment method pays with the shop's DEFAULT_PAYMENT_GATEWAY."""

import pytest

from orders.models import Order
from payments.models import Payment
from shop.platform_settings import set_setting
from tests.factories import AddressFactory, ProductFactory
from tests.orders.helpers import fill_cart
from tests.orders.test_checkout_api import checkout, db_snapshot

pytestmark = pytest.mark.django_db


@pytest.fixture
def ready_cart(customer):
    fill_cart(customer, [(ProductFactory(stock=5), 2)])
    return AddressFactory(customer=customer)


def test_no_method_uses_the_default_gateway(settings, customer_client, ready_cart, fake_paystack):
    settings.DEFAULT_PAYMENT_GATEWAY = "paystack"

    response = checkout(customer_client, {"address_id": ready_cart.pk})

    assert response.status_code == 201, response.content
    body = response.json()
    assert body["payment_method"] == "paystack"
    assert body["payment"]["redirect_url"].startswith(fake_paystack.base_url)
    assert Payment.objects.get(order_id=body["id"]).gateway == "paystack"


def test_the_default_follows_the_setting(settings, customer_client, ready_cart):
    settings.DEFAULT_PAYMENT_GATEWAY = "bank_transfer"

    response = checkout(customer_client, {"address_id": ready_cart.pk})

    assert response.status_code == 201, response.content
    assert response.json()["payment_method"] == "bank_transfer"
    assert Order.objects.get().payment_method == "bank_transfer"


def test_a_default_the_shop_does_not_offer_is_refused_with_the_choices(
    settings, customer_client, ready_cart
):
    settings.DEFAULT_PAYMENT_GATEWAY = "paystack"
    set_setting("checkout.allowed_payment_methods", ["bank_transfer", "cod"])
    before = db_snapshot()

    response = checkout(customer_client, {"address_id": ready_cart.pk})

    assert response.status_code == 400
    error = response.json()["error"]
    assert error["code"] == "payment_method_not_allowed"
    assert error["details"] == {"payment_method": "paystack", "available": ["bank_transfer", "cod"]}
    assert db_snapshot() == before


def test_a_named_method_still_wins_over_the_default(settings, customer_client, ready_cart):
    settings.DEFAULT_PAYMENT_GATEWAY = "paystack"

    response = checkout(customer_client, {"address_id": ready_cart.pk, "payment_method": "cod"})

    assert response.status_code == 201, response.content
    assert response.json()["payment_method"] == "cod"


def test_the_schema_documents_the_default(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    checkout_body = schema["components"]["schemas"]["CheckoutInputRequest"]

    assert "payment_method" not in checkout_body.get("required", [])
    assert "DEFAULT_PAYMENT_GATEWAY" in checkout_body["properties"]["payment_method"]["description"]
