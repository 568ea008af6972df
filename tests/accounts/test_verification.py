"""Email verification: new accounts get a link; checkout can require a verified address."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
import time_machine

from accounts.links import uid_for
from notifications.models import Notification
from shop.models import User
from tests.accounts.helpers import ME, emailed_link
from tests.conftest import client_for
from tests.factories import AddressFactory, ProductFactory, UserFactory
from tests.orders.helpers import fill_cart
from tests.shop.helpers import assert_error

pytestmark = pytest.mark.django_db

REGISTER = "/api/auth/register/"
VERIFY = "/api/auth/email/verify/"
RESEND = "/api/auth/email/verify/resend/"
SIGN_UP = {
    "email": "ada.obi@example.com",
    "password": "lagos-sunrise-2026",
    "first_name": "Ada",
    "last_name": "Obi",
}


def test_a_new_account_gets_a_verification_email_and_the_link_verifies_it(api_client, settings):
    settings.EMAIL_VERIFICATION_URL = "https://shop.example.com/account/verify/"
    assert api_client.post(REGISTER, SIGN_UP, format="json").status_code == 201
    customer = User.objects.get()
    client = client_for(customer)
    assert client.get(ME).json()["email_verified"] is False
    message = Notification.objects.get(template="email_verification")
    assert (message.recipient, message.context["customer_name"], message.context["valid_for"]) == (
        "ada.obi@example.com",
        "Ada Obi",
        "7 days",
    )
    link = emailed_link("email_verification", customer.email)

    first = api_client.post(VERIFY, {"uid": link["uid"], "token": link["token"]}, format="json")
    again = api_client.post(VERIFY, {"uid": link["uid"], "token": link["token"]}, format="json")

    assert link["base"] == "https://shop.example.com/account/verify/"
    assert first.status_code == 200
    assert again.status_code == 200  # following it twice is harmless
    assert client.get(ME).json()["email_verified"] is True


def test_a_refused_sign_up_queues_no_email(api_client):
    api_client.post(REGISTER, {**SIGN_UP, "password": "password"}, format="json")

    assert not Notification.objects.exists()


def test_the_link_expires(api_client, settings):
    settings.EMAIL_VERIFICATION_TIMEOUT = timedelta(days=7)
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        api_client.post(REGISTER, SIGN_UP, format="json")
    link = emailed_link("email_verification", SIGN_UP["email"])
    body = {"uid": link["uid"], "token": link["token"]}

    with time_machine.travel(start + timedelta(days=7, seconds=1), tick=False):
        late = api_client.post(VERIFY, body, format="json")

    assert_error(late, 400, "invalid_link")
    assert not User.objects.get().email_verified


def test_a_link_for_another_account_or_an_old_address_is_refused(api_client):
    api_client.post(REGISTER, SIGN_UP, format="json")
    customer = User.objects.get()
    link = emailed_link("email_verification", customer.email)
    other = UserFactory.create()
    User.objects.filter(pk=customer.pk).update(email="ada.new@example.com")

    old_address = api_client.post(
        VERIFY, {"uid": link["uid"], "token": link["token"]}, format="json"
    )
    other_account = api_client.post(
        VERIFY,
        {"uid": uid_for(other), "token": link["token"]},
        format="json",
    )
    forged = api_client.post(VERIFY, {"uid": link["uid"], "token": "x:y:z"}, format="json")

    for response in (old_address, other_account, forged):
        assert_error(response, 400, "invalid_link")
    assert not User.objects.filter(email_verified_at__isnull=False).exists()


def test_a_customer_can_ask_for_the_email_again_until_verified(api_client):
    customer = UserFactory.create()
    client = client_for(customer)

    assert client.post(RESEND).status_code == 202
    link = emailed_link("email_verification", customer.email)
    api_client.post(VERIFY, {"uid": link["uid"], "token": link["token"]}, format="json")

    assert_error(client.post(RESEND), 409, "email_already_verified")
    assert Notification.objects.filter(template="email_verification").count() == 1


@pytest.fixture
def ready_to_buy():
    customer = UserFactory.create()
    fill_cart(customer, [(ProductFactory.create(stock=5, price=Decimal("2500.00")), 1)])
    address = AddressFactory.create(customer=customer)
    return customer, {"payment_method": "bank_transfer", "address_id": address.pk}


def checkout(customer, body):
    return client_for(customer).post(
        "/api/checkout/", body, format="json", HTTP_IDEMPOTENCY_KEY="verify-test"
    )


def test_checkout_requires_a_verified_email_when_the_setting_says_so(ready_to_buy, settings):
    settings.ACCOUNTS_REQUIRE_VERIFIED_EMAIL = True
    customer, body = ready_to_buy

    refused = checkout(customer, body)
    User.objects.filter(pk=customer.pk).update(email_verified_at=datetime.now(UTC))
    placed = checkout(customer, body)

    assert_error(refused, 403, "email_not_verified")
    assert placed.status_code == 201, placed.content


def test_checkout_does_not_ask_for_it_by_default(ready_to_buy):
    customer, body = ready_to_buy

    assert checkout(customer, body).status_code == 201
