"""Clock edges: a Stripe signature exactly at its tolerance and just past it, and a stock
lock that expires at the very instant its payment arrives.

The clock is frozen (time-machine) at the instants that matter, so "exactly" means exactly:
the same microsecond for the lock, the same second (and a millisecond past it) for Stripe.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
import time_machine

from inventory.models import InventoryLock
from orders.models import Order, OrderEvent
from payments.models import Payment, WebhookEvent
from payments.providers.stripe_events import WEBHOOK_TOLERANCE_SECONDS
from shop.models import Product
from shop.platform_settings import set_setting
from tests.conftest import client_for
from tests.factories import ProductFactory, UserFactory
from tests.payments.helpers import place_order
from tests.payments.money import deliver

pytestmark = [pytest.mark.faults, pytest.mark.django_db]

SIGNED_AT = datetime.fromisoformat("2031-03-01T12:00:00+00:00")


@pytest.fixture(autouse=True)
def _payment_methods(db):
    set_setting("checkout.allowed_payment_methods", ["paystack", "stripe", "bank_transfer"])


def _stripe_payment_signed_at(fake_stripe, customer, signed_at: datetime):
    """A Stripe checkout paid at the gateway; its two webhooks signed at ``signed_at``."""
    fake_stripe.webhook_target = None
    with time_machine.travel(signed_at - timedelta(minutes=1), tick=False):
        response, product = place_order(client_for(customer), customer, method="stripe")
    assert response.status_code == 201, response.content
    payment = Payment.objects.get(order_id=response.json()["id"])
    with time_machine.travel(signed_at, tick=False):
        webhooks = fake_stripe.pay(payment.reference)
    return payment, product, webhooks


@pytest.mark.parametrize(
    ("received_after", "accepted"),
    [
        (timedelta(seconds=WEBHOOK_TOLERANCE_SECONDS), True),
        (timedelta(seconds=WEBHOOK_TOLERANCE_SECONDS, milliseconds=1), False),
    ],
    ids=["at-the-tolerance", "a-millisecond-past-it"],
)
def test_a_stripe_signature_at_its_tolerance_is_accepted_and_past_it_refused(
    fake_stripe, customer, api_client, django_capture_on_commit_callbacks, received_after, accepted
):
    payment, product, webhooks = _stripe_payment_signed_at(fake_stripe, customer, SIGNED_AT)

    with time_machine.travel(SIGNED_AT + received_after, tick=False):
        if accepted:
            responses = [
                deliver(webhook, "stripe", django_capture_on_commit_callbacks)
                for webhook in webhooks
            ]
        else:
            responses = [
                api_client.post(
                    "/api/webhooks/stripe/",
                    data=webhook.body,
                    content_type="application/json",
                    HTTP_STRIPE_SIGNATURE=webhook.headers["Stripe-Signature"],
                )
                for webhook in webhooks
            ]

    order = Order.objects.get(pk=payment.order_id)
    if accepted:
        assert [r.status_code for r in responses] == [200, 200]
        assert order.state == "paid"
        assert OrderEvent.objects.filter(order=order, kind="paid").count() == 1
        assert Product.objects.get(pk=product.pk).stock == 8
    else:
        assert [(r.status_code, r.json()["error"]["code"]) for r in responses] == [
            (401, "invalid_signature")
        ] * 2
        assert order.state == "pending_payment"  # never processed without a valid signature
        assert not WebhookEvent.objects.filter(signature_valid=True).exists()
        assert Product.objects.get(pk=product.pk).stock == 10


def _order_holding_the_last_units(fake_paystack, customer):
    """A Paystack order holding both units of a product (stock 2); returns it, its payment's
    signed webhook (not delivered yet), the product and the instant its lock expires."""
    fake_paystack.webhook_target = None
    product = ProductFactory.create(stock=2)
    response, _ = place_order(
        client_for(customer), customer, method="paystack", product=product, quantity=2
    )
    assert response.status_code == 201, response.content
    order = Order.objects.get(pk=response.json()["id"])
    expires_at = InventoryLock.objects.get(owner=order.number).expires_at
    assert expires_at is not None
    webhook = fake_paystack.pay(Payment.objects.get(order=order).reference)
    return order, webhook, product, expires_at


def test_a_payment_a_microsecond_before_its_lock_expires_keeps_the_units(
    fake_paystack, customer, django_capture_on_commit_callbacks
):
    order, webhook, product, expires_at = _order_holding_the_last_units(fake_paystack, customer)
    rival = UserFactory.create()

    with time_machine.travel(expires_at - timedelta(microseconds=1), tick=False):
        refused, _ = place_order(
            client_for(rival), rival, method="bank_transfer", product=product, quantity=2
        )
        deliver(webhook, "paystack", django_capture_on_commit_callbacks)

    assert (refused.status_code, refused.json()["error"]["code"]) == (409, "insufficient_stock")
    order.refresh_from_db()
    assert (order.state, order.stock_deducted, order.needs_attention) == ("paid", True, False)
    assert Product.objects.get(pk=product.pk).stock == 0
    assert not InventoryLock.objects.exists()


def test_a_lock_expiring_at_the_instant_its_payment_arrives_never_oversells(
    fake_paystack, customer, django_capture_on_commit_callbacks
):
    order, webhook, product, expires_at = _order_holding_the_last_units(fake_paystack, customer)
    rival = UserFactory.create()

    # At expires_at the lock has stopped holding (active means expires_at > now): a rival
    # checkout takes the two units, and the payment landing in the same instant finds them gone.
    with time_machine.travel(expires_at, tick=False):
        placed, _ = place_order(
            client_for(rival), rival, method="bank_transfer", product=product, quantity=2
        )
        deliver(webhook, "paystack", django_capture_on_commit_callbacks)

    assert placed.status_code == 201, placed.content
    order.refresh_from_db()
    assert order.state == "paid"  # the money is booked...
    assert order.stock_deducted is False  # ...but no unit sold twice
    assert (order.needs_attention, order.attention_reason) == (True, "out_of_stock_after_payment")
    assert Product.objects.get(pk=product.pk).stock == 2
    rival_order = Order.objects.get(pk=placed.json()["id"])
    assert list(InventoryLock.objects.values_list("owner", "quantity")) == [(rival_order.number, 2)]


def test_a_lock_expiring_at_the_instant_its_payment_arrives_is_taken_again_when_free(
    fake_paystack, customer, django_capture_on_commit_callbacks
):
    order, webhook, product, expires_at = _order_holding_the_last_units(fake_paystack, customer)

    with time_machine.travel(expires_at, tick=False):
        deliver(webhook, "paystack", django_capture_on_commit_callbacks)

    order.refresh_from_db()
    assert (order.state, order.stock_deducted, order.needs_attention) == ("paid", True, False)
    assert Product.objects.get(pk=product.pk).stock == 0
    assert not InventoryLock.objects.exists()
