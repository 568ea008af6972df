"""Changing a password, and resetting a forgotten one through an emailed single-use link."""

from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.core import mail
from django.test import Client, override_settings
from knox.models import AuthToken

from accounts import passwords
from notifications.delivery import dispatch_due
from notifications.events import HIDDEN
from notifications.models import Notification
from shop.models import User
from tests.accounts.helpers import ME, client_with, emailed_link, sign_in
from tests.conftest import admin_login
from tests.factories import DEFAULT_PASSWORD, UserFactory
from tests.shop.helpers import assert_error

pytestmark = pytest.mark.django_db

CHANGE = "/api/auth/password/change/"
RESET = "/api/auth/password/reset/"
CONFIRM = "/api/auth/password/reset/confirm/"
NEW_PASSWORD = "harmattan-breeze-2027"


# --- Change --------------------------------------------------------------------------------


def test_changing_the_password_signs_out_every_other_device():
    customer = UserFactory.create()
    phone, laptop = (client_with(sign_in(customer.email).json()["token"]) for _ in range(2))

    response = phone.post(
        CHANGE,
        {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
        format="json",
    )

    assert response.status_code == 200
    assert phone.get(ME).status_code == 200
    assert_error(laptop.get(ME), 401, "authentication_failed")
    assert_error(sign_in(customer.email), 400, "invalid_credentials")
    assert sign_in(customer.email, NEW_PASSWORD).status_code == 200


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"current_password": "wrong", "new_password": NEW_PASSWORD}, 400, "password_incorrect"),
        ({"current_password": DEFAULT_PASSWORD, "new_password": "password"}, 400,
         "validation_error"),
        ({"current_password": DEFAULT_PASSWORD}, 400, "validation_error"),
    ],
    ids=["wrong current password", "common new password", "no new password"],
)  # fmt: skip
def test_a_refused_change_changes_nothing(body, status, code):
    customer = UserFactory.create()
    phone, laptop = (client_with(sign_in(customer.email).json()["token"]) for _ in range(2))

    error = assert_error(phone.post(CHANGE, body, format="json"), status, code)

    if code == "validation_error":
        assert list(error["details"]["fields"]) == ["new_password"]
    else:
        assert error["details"] == {"field": "current_password"}
    assert laptop.get(ME).status_code == 200
    assert User.objects.get(pk=customer.pk).check_password(DEFAULT_PASSWORD)


@override_settings(THROTTLE_LOGIN_RATE="2/min")
def test_guessing_the_current_password_with_a_token_is_throttled(ratelimit_clock):
    client = client_with(sign_in(UserFactory.create().email).json()["token"])
    guess = {"current_password": "guess", "new_password": NEW_PASSWORD}

    statuses = [client.post(CHANGE, guess, format="json").status_code for _ in range(3)]

    assert statuses == [400, 400, 429]


def test_an_admin_session_stays_signed_in_after_changing_its_password():
    staff = UserFactory.create(is_staff=True)
    client = admin_login(Client(), staff)

    response = client.post(
        CHANGE,
        {"current_password": DEFAULT_PASSWORD, "new_password": NEW_PASSWORD},
        content_type="application/json",
    )

    assert response.status_code == 200
    assert client.get(ME).status_code == 200


# --- Reset ---------------------------------------------------------------------------------


def test_the_reset_answer_is_the_same_whether_or_not_the_address_has_an_account(api_client):
    UserFactory.create(email="ada@example.com")
    UserFactory.create(email="gone@example.com", is_active=False)

    answers = [
        api_client.post(RESET, {"email": email}, format="json")
        for email in ("ada@example.com", "nobody@example.com", "gone@example.com")
    ]

    assert {response.status_code for response in answers} == {202}
    assert len({response.content for response in answers}) == 1
    assert list(Notification.objects.values_list("template", "recipient")) == [
        ("password_reset", "ada@example.com")
    ]


def test_the_reset_link_sets_the_password_once_and_signs_out_every_device(api_client, settings):
    settings.PASSWORD_RESET_URL = "https://shop.example.com/account/reset/"
    customer = UserFactory.create(email="ada@example.com")
    device = client_with(sign_in(customer.email).json()["token"])
    api_client.post(RESET, {"email": "ADA@example.com"}, format="json")
    link = emailed_link("password_reset", "ada@example.com")

    used = api_client.post(
        CONFIRM,
        {"uid": link["uid"], "token": link["token"], "new_password": NEW_PASSWORD},
        format="json",
    )
    again = api_client.post(
        CONFIRM,
        {"uid": link["uid"], "token": link["token"], "new_password": "another-one-2027"},
        format="json",
    )

    assert link["base"] == "https://shop.example.com/account/reset/"
    assert used.status_code == 200, used.content
    assert_error(again, 400, "invalid_link")
    assert_error(device.get(ME), 401, "authentication_failed")
    assert not AuthToken.objects.filter(user=customer).exists()
    assert sign_in(customer.email, NEW_PASSWORD).status_code == 200
    assert User.objects.get(pk=customer.pk).email_verified  # the link proved the mailbox


def test_the_reset_link_stops_working_after_a_password_change(api_client):
    customer = UserFactory.create()
    api_client.post(RESET, {"email": customer.email}, format="json")
    link = emailed_link("password_reset", customer.email)
    passwords.change_password(
        user=customer, current_password=DEFAULT_PASSWORD, new_password=NEW_PASSWORD,
        keep_token=None,
    )  # fmt: skip

    response = api_client.post(CONFIRM, {**link, "new_password": "another-one-2027"}, format="json")

    assert_error(response, 400, "invalid_link")


def test_the_reset_link_expires_after_its_lifetime(api_client, settings):
    settings.PASSWORD_RESET_TIMEOUT = 3600
    customer = UserFactory.create()
    start = datetime.now(UTC)
    with time_machine.travel(start, tick=False):
        api_client.post(RESET, {"email": customer.email}, format="json")
    link = emailed_link("password_reset", customer.email)
    body = {"uid": link["uid"], "token": link["token"], "new_password": NEW_PASSWORD}

    with time_machine.travel(start + timedelta(seconds=3601), tick=False):
        late = api_client.post(CONFIRM, body, format="json")
    with time_machine.travel(start + timedelta(seconds=3599), tick=False):
        in_time = api_client.post(CONFIRM, body, format="json")

    assert_error(late, 400, "invalid_link")
    assert in_time.status_code == 200


def test_a_weak_new_password_is_refused_and_the_link_still_works(api_client):
    customer = UserFactory.create()
    api_client.post(RESET, {"email": customer.email}, format="json")
    link = emailed_link("password_reset", customer.email)

    weak = api_client.post(
        CONFIRM,
        {"uid": link["uid"], "token": link["token"], "new_password": "12345678"},
        format="json",
    )
    strong = api_client.post(
        CONFIRM,
        {"uid": link["uid"], "token": link["token"], "new_password": NEW_PASSWORD},
        format="json",
    )

    assert list(assert_error(weak, 400, "validation_error")["details"]["fields"]) == [
        "new_password"
    ]
    assert strong.status_code == 200


@pytest.mark.parametrize(
    "link",
    [
        {"uid": "MTIzNDU2Nzg5", "token": "cz1p4q-8e3a61b0f47d"},
        {"uid": "not base64 at all", "token": "x"},
        {"uid": "", "token": ""},
    ],
    ids=["unknown account", "garbage uid", "empty"],
)
def test_a_forged_link_is_refused(api_client, link):
    UserFactory.create()

    response = api_client.post(CONFIRM, {**link, "new_password": NEW_PASSWORD}, format="json")

    assert response.status_code == 400
    assert response.json()["error"]["code"] in {"invalid_link", "validation_error"}


@override_settings(THROTTLE_ACCOUNT_EMAIL_RATE="2/hour")
def test_reset_requests_are_throttled_per_address_alike_for_unknown_ones(
    api_client, ratelimit_clock
):
    known = UserFactory.create().email
    answers = {
        email: [api_client.post(RESET, {"email": email}, format="json") for _ in range(3)]
        for email in (known, "nobody@example.com")
    }

    for responses in answers.values():
        assert [r.status_code for r in responses] == [202, 202, 429]
    assert answers[known][2].content == answers["nobody@example.com"][2].content
    assert Notification.objects.filter(template="password_reset").count() == 2


def test_the_sent_reset_email_holds_the_link_and_the_outbox_forgets_it(api_client):
    customer = UserFactory.create()
    api_client.post(RESET, {"email": customer.email}, format="json")
    link = emailed_link("password_reset", customer.email)

    dispatch_due()

    message = Notification.objects.get(template="password_reset")
    assert message.status == Notification.Status.SENT
    assert message.context["reset_url"] == HIDDEN
    (email,) = mail.outbox
    assert email.to == [customer.email]
    assert f"uid={link['uid']}&token={link['token']}" in email.body
