"""A customer's personal data: the export, and erasure that keeps the books."""

import json
from decimal import Decimal

import pytest
from knox.models import AuthToken

from notifications.models import Notification
from orders.models import IdempotencyKey, Order
from orders.services import mark_paid
from payments.models import Payment, Refund, WebhookEvent
from shop.models import Address, Cart, User
from tests.accounts.helpers import ME, client_with, sign_in
from tests.conftest import client_for
from tests.factories import AddressFactory, NotificationFactory, ProductFactory, UserFactory
from tests.orders.helpers import fill_cart, place
from tests.shop.helpers import assert_error

pytestmark = pytest.mark.django_db

EXPORT = "/api/auth/me/export/"


@pytest.fixture
def shopper():
    """A customer with an address book, a cart, a paid and part-refunded order, a gateway
    webhook about it and the messages sent to them; and another customer with an order."""
    customer = UserFactory.create(email="ada@example.com", first_name="Ada", last_name="Obi",
                           phone="+2348031234567")  # fmt: skip
    product = ProductFactory.create(stock=20, price=Decimal("2500.00"), sku="SHEA-1")
    order = place(customer, [(product, 2)]).order
    mark_paid(order_id=order.pk, amount=order.total, currency=order.currency)
    Order.objects.filter(pk=order.pk).update(note="Call me on +2348031234567")
    payment = Payment.objects.create(
        order=order, gateway="paystack", reference=f"{order.number}-1", attempt=1,
        amount=order.total, currency="NGN", status="succeeded",
    )  # fmt: skip
    Refund.objects.create(
        payment=payment, amount=Decimal("1000.00"), currency="NGN", idempotency_key="r1"
    )
    WebhookEvent.objects.create(
        gateway="paystack", event_key="evt-1", signature_valid=True, payment=payment,
        raw_body='{"data": {"customer": {"email": "ada@example.com"}}}',
    )  # fmt: skip
    IdempotencyKey.objects.create(
        customer=customer, key="k1", fingerprint="f", response_body={"address": "12 Admiralty"}
    )
    AddressFactory.create(customer=customer, full_name="Ada Obi", line1="7 Bourdillon Road")
    fill_cart(customer, [(product, 1)])
    NotificationFactory.create(recipient="ada@example.com", status="sent",
                        sent_at=order.created_at, dedup_key="mine-1")  # fmt: skip
    NotificationFactory.create(recipient="ada@example.com", dedup_key="mine-2")  # still queued
    NotificationFactory.create(channel="sms", recipient="+2348031234567", template="order_placed",
                        dedup_key="mine-3")  # fmt: skip
    other = UserFactory.create(email="bola@example.com")
    other_order = place(other, [(product, 1)]).order
    NotificationFactory.create(recipient="bola@example.com", dedup_key="theirs")
    return customer, order, other, other_order


def test_the_export_holds_everything_about_the_customer_and_nothing_of_others(shopper):
    customer, order, other, other_order = shopper

    response = client_for(customer).get(EXPORT)

    assert response.status_code == 200
    data = response.json()
    assert set(data) == {
        "exported_at", "account", "addresses", "orders", "notifications", "sign_ins",
    }  # fmt: skip
    assert data["account"]["email"] == "ada@example.com"
    assert data["account"]["phone"] == "+2348031234567"
    assert {a["line1"] for a in data["addresses"]} == {"12 Admiralty Way", "7 Bourdillon Road"}
    (exported,) = data["orders"]
    assert (exported["number"], exported["total"], exported["state"]) == (
        order.number, "5000.00", "paid",
    )  # fmt: skip
    assert exported["items"] == [
        {"sku": "SHEA-1", "name": exported["items"][0]["name"], "unit_price": "2500.00",
         "quantity": 2, "line_total": "5000.00"},
    ]  # fmt: skip
    (payment,) = exported["payments"]
    assert (payment["reference"], payment["amount"], payment["status"]) == (
        f"{order.number}-1", "5000.00", "succeeded",
    )  # fmt: skip
    assert [r["amount"] for r in payment["refunds"]] == ["1000.00"]
    assert {(n["channel"], n["recipient"]) for n in data["notifications"]} == {
        ("email", "ada@example.com"),
        ("sms", "+2348031234567"),
    }
    assert len(data["sign_ins"]) == 1
    body = response.content.decode()
    for foreign in (other.email, other_order.number, "bola"):
        assert foreign not in body


def test_erasure_needs_the_password_and_a_wrong_one_changes_nothing(shopper):
    customer = shopper[0]
    before = User.objects.filter(pk=customer.pk).values().get()

    response = client_for(customer).delete(ME, {"password": "guess"}, format="json")

    assert assert_error(response, 400, "password_incorrect")["details"] == {"field": "password"}
    assert User.objects.filter(pk=customer.pk).values().get() == before
    assert Address.objects.filter(customer=customer).count() == 2


def test_erasure_replaces_the_person_and_keeps_the_books(shopper):
    customer, order, other, other_order = shopper
    phone = client_with(sign_in(customer.email).json()["token"])
    laptop = client_for(customer)
    other_before = Order.objects.filter(pk=other_order.pk).values().get()

    response = laptop.delete(ME, {"password": "correct-horse-battery-staple"}, format="json")

    assert response.status_code == 204
    erased = User.objects.get(pk=customer.pk)
    assert (erased.email, erased.first_name, erased.last_name, erased.phone) == (
        f"erased-{customer.pk}@erased.invalid", "", "", "",
    )  # fmt: skip
    assert (erased.is_active, erased.has_usable_password(), erased.erased_at is not None) == (
        False, False, True,
    )  # fmt: skip
    for device in (phone, laptop):
        assert_error(device.get(ME), 401, "authentication_failed")
    assert not AuthToken.objects.filter(user=customer).exists()
    assert_error(sign_in("ada@example.com"), 400, "invalid_credentials")
    assert not Address.objects.filter(customer=customer).exists()
    assert not Cart.objects.filter(customer=customer).exists()
    assert not IdempotencyKey.objects.filter(customer=customer).exists()

    kept = Order.objects.get(pk=order.pk)
    assert (kept.number, kept.state, kept.total, kept.amount_refunded, kept.note) == (
        order.number, "paid", Decimal("5000.00"), Decimal("0.00"), "",
    )  # fmt: skip
    assert kept.shipping_address == {
        "full_name": "(erased)", "phone": "", "line1": "", "line2": "", "city": "",
        "state": "", "postal_code": "", "country": "NG",
    }  # fmt: skip
    assert kept.items.count() == 1
    payment = Payment.objects.get(order=order)
    assert (payment.amount, payment.status) == (Decimal("5000.00"), "succeeded")
    assert Refund.objects.get(payment=payment).amount == Decimal("1000.00")
    webhook = WebhookEvent.objects.get(event_key="evt-1")
    assert "ada@example.com" not in webhook.raw_body

    mine = Notification.objects.filter(dedup_key__startswith="mine").order_by("dedup_key")
    assert [(n.recipient, n.status) for n in mine] == [
        (erased.email, "sent"),
        (erased.email, "dead"),  # queued: never sent to a forgotten address
        ("(erased)", "dead"),
    ]
    assert all(n.context["customer_name"] == "(erased)" for n in mine)
    assert Notification.objects.get(dedup_key="theirs").recipient == "bola@example.com"
    assert Order.objects.filter(pk=other_order.pk).values().get() == other_before
    assert User.objects.get(pk=other.pk).email == "bola@example.com"
    stored = json.dumps(list(mine.values("recipient", "context")))
    assert "ada@example.com" not in stored
    assert "Ada Obi" not in stored


def test_staff_accounts_are_not_erased_through_the_api():
    staff = UserFactory.create(is_staff=True)

    response = client_for(staff).delete(
        ME, {"password": "correct-horse-battery-staple"}, format="json"
    )

    assert_error(response, 403, "staff_account_not_erasable")
    assert User.objects.get(pk=staff.pk).is_active
