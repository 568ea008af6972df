"""API tokens: one per sign-in, stored hashed, expiring, revoked by logout and deactivation."""

import hashlib
from datetime import UTC, datetime, timedelta

import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils.dateparse import parse_datetime
from knox.models import AuthToken

from accounts import tokens
from accounts.tasks import purge_expired_tokens
from shop.models import User
from tests.accounts.helpers import ME, client_with, sign_in
from tests.conftest import admin_login
from tests.factories import StaffFactory, UserFactory
from tests.shop.helpers import assert_error

pytestmark = pytest.mark.django_db

NOW = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def test_a_sign_in_answers_a_token_and_its_expiry_30_days_on_for_a_customer():
    customer = UserFactory.create()
    with time_machine.travel(NOW, tick=False):
        response = sign_in(customer.email)
        body = response.json()
        me = client_with(body["token"]).get(ME)

    assert response.status_code == 200
    assert set(body) == {"token", "expiry"}
    assert parse_datetime(body["expiry"]) == NOW + timedelta(days=30)
    assert me.json()["email"] == customer.email


def test_a_staff_token_expires_after_12_hours():
    staff = StaffFactory.create()
    with time_machine.travel(NOW, tick=False):
        body = sign_in(staff.email).json()

    assert parse_datetime(body["expiry"]) == NOW + timedelta(hours=12)


def test_the_lifetimes_come_from_the_settings(settings):
    settings.AUTH_TOKEN_TTL = timedelta(days=2)
    settings.STAFF_TOKEN_TTL = timedelta(minutes=30)
    with time_machine.travel(NOW, tick=False):
        customer = sign_in(UserFactory.create().email).json()
        staff = sign_in(StaffFactory.create().email).json()

    assert parse_datetime(customer["expiry"]) == NOW + timedelta(days=2)
    assert parse_datetime(staff["expiry"]) == NOW + timedelta(minutes=30)


def test_only_a_digest_of_the_token_is_stored():
    customer = UserFactory.create()
    token = sign_in(customer.email).json()["token"]

    row = AuthToken.objects.get(user=customer)
    assert row.digest == hashlib.sha512(token.encode()).hexdigest()
    stored = [str(value) for value in AuthToken.objects.values_list(flat=False).get()]
    assert not any(token in value for value in stored)
    assert row.token_key == token[:15]  # a prefix, for staff to tell devices apart


def test_a_token_works_until_its_expiry_and_not_after():
    customer = UserFactory.create()
    with time_machine.travel(NOW, tick=False):
        token = sign_in(customer.email).json()["token"]
    client = client_with(token)

    with time_machine.travel(NOW + timedelta(days=30) - timedelta(seconds=1), tick=False):
        assert client.get(ME).status_code == 200
    with time_machine.travel(NOW + timedelta(days=30), tick=False):
        assert_error(client.get(ME), 401, "authentication_failed")


def test_logout_revokes_only_the_token_it_was_sent_with():
    customer = UserFactory.create()
    phone, laptop = (client_with(sign_in(customer.email).json()["token"]) for _ in range(2))

    assert phone.post("/api/auth/logout/").status_code == 204

    assert_error(phone.get(ME), 401, "authentication_failed")
    assert laptop.get(ME).status_code == 200
    assert AuthToken.objects.filter(user=customer).count() == 1


def test_logout_all_revokes_every_token_of_the_account_and_no_other():
    customer, other = UserFactory.create(), UserFactory.create()
    phone, laptop = (client_with(sign_in(customer.email).json()["token"]) for _ in range(2))
    others = client_with(sign_in(other.email).json()["token"])

    assert laptop.post("/api/auth/logout-all/").status_code == 204

    assert_error(phone.get(ME), 401, "authentication_failed")
    assert_error(laptop.get(ME), 401, "authentication_failed")
    assert others.get(ME).status_code == 200


def test_deactivating_an_account_revokes_its_tokens():
    customer = UserFactory.create()
    sign_in(customer.email)
    sign_in(customer.email)

    customer.is_active = False
    customer.save()

    assert not AuthToken.objects.filter(user=customer).exists()


def test_deactivating_an_account_in_the_admin_revokes_its_tokens():
    customer = UserFactory.create()
    client = client_with(sign_in(customer.email).json()["token"])
    admin = admin_login(Client(), StaffFactory.create(is_superuser=True))
    form = admin.get(f"/admin/shop/user/{customer.pk}/change/").context["adminform"].form
    data = {key: value for key, value in form.initial.items() if value is not None}
    data |= {"groups": [], "user_permissions": [], "is_active": ""}
    data["last_login_0"] = data["last_login_1"] = ""
    data["date_joined_0"], data["date_joined_1"] = "2026-01-01", "10:00:00"

    response = admin.post(f"/admin/shop/user/{customer.pk}/change/", data)

    assert response.status_code == 302, response.context["adminform"].form.errors
    assert User.objects.get(pk=customer.pk).is_active is False
    assert not AuthToken.objects.filter(user=customer).exists()
    assert_error(client.get(ME), 401, "authentication_failed")


def test_a_token_request_is_authenticated_in_one_query():
    customer = UserFactory.create()
    client = client_with(sign_in(customer.email).json()["token"])

    with CaptureQueriesContext(connection) as captured:
        response = client.get(ME)

    assert response.status_code == 200
    assert len(captured.captured_queries) == 1, captured.captured_queries


def test_the_purge_deletes_expired_tokens_only():
    customer = UserFactory.create()
    with time_machine.travel(datetime.now(UTC) - timedelta(days=31), tick=False):
        old = sign_in(customer.email).json()["token"]
    fresh = sign_in(customer.email).json()["token"]

    assert purge_expired_tokens.delay().get() == 1

    assert list(AuthToken.objects.values_list("token_key", flat=True)) == [fresh[:15]]
    assert client_with(fresh).get(ME).status_code == 200
    assert tokens.purge_expired() == 0
    assert_error(client_with(old).get(ME), 401, "authentication_failed")
