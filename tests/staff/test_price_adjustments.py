"""A new kind of price adjustment needs only an adjuster in ``shop.pricing``: the cart shows it,
checkout charges and stores it, payment asks for the adjusted total and refunds are prorated.

The adjusters here stand for the shipping fees and promotions to come: registering them is the
whole change, and every path after it follows."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from orders.models import Order, OrderAdjustment
from payments.models import Refund
from shop import pricing
from shop.pricing import Adjustment, AdjustmentKind, PricedBasket, PricingContext
from tests.factories import AddressFactory, ProductFactory
from tests.orders.helpers import fill_cart
from tests.payments.money import paid_order, staff_refund

pytestmark = pytest.mark.django_db


def delivery_fee(basket: PricedBasket, context: PricingContext) -> Iterable[Adjustment]:
    where = context.country or "your address"  # the cart does not know it yet; checkout does
    yield Adjustment(AdjustmentKind.SHIPPING, f"Delivery to {where}", Decimal("1500.00"))


def tenth_off(basket: PricedBasket, context: PricingContext) -> Iterable[Adjustment]:
    yield Adjustment(AdjustmentKind.DISCOUNT, "10% off", basket.subtotal / 10, code="TENTH")


@pytest.fixture
def adjusted_prices(monkeypatch):
    monkeypatch.setattr(pricing, "ADJUSTERS", [delivery_fee, tenth_off])


def checkout(client, address, **body):
    return client.post(
        "/api/checkout/",
        {"payment_method": "bank_transfer", "address_id": address.pk, **body},
        format="json",
        HTTP_IDEMPOTENCY_KEY=str(uuid.uuid4()),
    )


def test_the_cart_shows_each_adjustment_and_the_adjusted_total(
    adjusted_prices, customer, customer_client
):
    fill_cart(customer, [(ProductFactory(price="5000.00", stock=5), 2)])

    body = customer_client.get("/api/cart/").json()

    assert (body["subtotal"], body["total"]) == ("10000.00", "10500.00")
    assert body["adjustments"] == [
        {"kind": "shipping", "label": "Delivery to your address", "code": "", "amount": "1500.00"},
        {"kind": "discount", "label": "10% off", "code": "TENTH", "amount": "1000.00"},
    ]


def test_checkout_charges_the_adjusted_total_and_stores_every_adjustment(
    adjusted_prices, customer, customer_client
):
    fill_cart(customer, [(ProductFactory(price="5000.00", stock=5), 2)])
    address = AddressFactory(customer=customer, country="NG")

    response = checkout(customer_client, address, expected_total="10500.00")

    assert response.status_code == 201, response.json()
    body = response.json()
    assert (body["subtotal"], body["shipping"], body["discount"], body["total"]) == (
        "10000.00",
        "1500.00",
        "1000.00",
        "10500.00",
    )
    order = Order.objects.get(pk=body["id"])
    assert list(
        OrderAdjustment.objects.filter(order=order).values_list("kind", "label", "code", "amount")
    ) == [
        ("shipping", "Delivery to NG", "", Decimal("1500.00")),
        ("discount", "10% off", "TENTH", Decimal("1000.00")),
    ]
    assert order.events.get(kind="placed").payload["total"] == "10500.00"


def test_a_client_that_saw_the_unadjusted_total_is_told_the_price_changed(
    adjusted_prices, customer, customer_client
):
    fill_cart(customer, [(ProductFactory(price="5000.00", stock=5), 2)])

    response = checkout(
        customer_client, AddressFactory(customer=customer), expected_total="10000.00"
    )

    assert response.status_code == 409
    assert response.json()["error"]["code"] == "price_changed"
    assert response.json()["error"]["details"]["current_total"] == "10500.00"
    assert not Order.objects.exists()


def test_adjustments_add_no_statement_to_checkout(monkeypatch, customer, customer_client):
    def statements(tag: str) -> int:
        fill_cart(customer, [(ProductFactory(price="5000.00", stock=5), 2)])
        address = AddressFactory(customer=customer)
        checkout(customer_client, address)  # warm: settings cached, statements prepared
        fill_cart(customer, [(ProductFactory(price="5000.00", stock=5), 2)])
        with CaptureQueriesContext(connection) as captured:
            assert checkout(customer_client, address).status_code == 201, tag
        return len(captured.captured_queries)

    plain = statements("plain")
    monkeypatch.setattr(pricing, "ADJUSTERS", [delivery_fee, tenth_off])

    assert statements("adjusted") == plain


def test_the_payment_asks_for_the_adjusted_total_and_a_line_refund_bears_its_share_of_the_discount(
    adjusted_prices, fake_paystack, customer, customer_client, finance_user
):
    order, payment, product = paid_order(fake_paystack, customer_client, customer, quantity=2)
    assert (order.subtotal, order.total, payment.amount) == (
        Decimal("5000.00"),
        Decimal("6000.00"),
        Decimal("6000.00"),
    )  # 2 x 2500.00, 1500.00 delivery, 500.00 off

    response = staff_refund(
        finance_user,
        order,
        {"lines": {str(product.pk): 1}, "reason": "one jar broken"},
        key="one-jar",
    )

    assert response.status_code == 200, response.json()
    refund = Refund.objects.get()
    assert refund.amount == Decimal("2250.00")  # 2500.00 less its 10 % share of the discount
    assert fake_paystack.calls("POST", "/refund")[0].json()["amount"] == 225000
