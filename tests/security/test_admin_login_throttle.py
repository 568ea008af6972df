"""The admin login is limited like the API login: per address + username and per address, in
the same Redis counters, failing closed; the page is found by URL name, whatever renders it."""

import pytest
from django.test import Client, override_settings

from tests.factories import DEFAULT_PASSWORD, StaffFactory
from tests.security.test_ratelimit import DOWN_REDIS
from tests.security.test_throttles import fresh_address

pytestmark = pytest.mark.django_db

LOGIN = "/admin/login/"


@pytest.fixture
def default_rates(settings):
    from config import settings as production_settings

    settings.THROTTLE_LOGIN_RATE = production_settings.THROTTLE_LOGIN_RATE
    settings.AUTH_THROTTLE_RATE = production_settings.AUTH_THROTTLE_RATE
    assert (settings.THROTTLE_LOGIN_RATE, settings.AUTH_THROTTLE_RATE) == ("5/min", "10/min")


def sign_in(client: Client, email: str, password: str, address: str, **extra):
    return client.post(
        LOGIN,
        {"username": email, "password": password, "next": "/admin/"},
        REMOTE_ADDR=address,
        **extra,
    )


def signed_in(client: Client) -> bool:
    return client.get("/admin/", REMOTE_ADDR="10.9.9.9").status_code == 200


def test_twelve_wrong_admin_passwords_are_refused_before_the_twelfth(
    default_rates, ratelimit_clock
):
    staff = StaffFactory.create()
    client, address = Client(), fresh_address()
    ratelimit_clock.advance(20)

    statuses = [sign_in(client, staff.email, f"guess-{n}", address).status_code for n in range(12)]
    right_password = sign_in(client, staff.email, DEFAULT_PASSWORD, address)

    assert statuses == [200] * 5 + [429] * 7  # 200: the form again, "enter a correct email"
    assert right_password.status_code == 429
    assert right_password["Retry-After"] == "40"
    assert "Please wait 40 seconds before trying again." in right_password.content.decode()
    assert not signed_in(client)

    ratelimit_clock.advance(40)
    assert sign_in(client, staff.email, DEFAULT_PASSWORD, address).status_code == 302
    assert signed_in(client)


def test_the_limit_counts_per_address_across_usernames(default_rates, ratelimit_clock):
    address = fresh_address()

    statuses = [
        sign_in(Client(), f"someone{n}@example.com", "guess", address).status_code
        for n in range(11)
    ]
    elsewhere = sign_in(Client(), "someone0@example.com", "guess", fresh_address())

    assert statuses == [200] * 10 + [429]
    assert elsewhere.status_code == 200


def test_admin_and_api_sign_in_share_one_budget_per_account(default_rates, ratelimit_clock):
    staff = StaffFactory.create()
    address = fresh_address()
    for _ in range(3):
        Client().post(
            "/api/auth/token/",
            {"email": staff.email, "password": "guess"},
            content_type="application/json",
            REMOTE_ADDR=address,
        )

    statuses = [sign_in(Client(), staff.email, "guess", address).status_code for _ in range(3)]

    assert statuses == [200, 200, 429]


def test_a_client_asking_for_json_gets_the_api_error_body(default_rates, ratelimit_clock):
    staff, address = StaffFactory.create(), fresh_address()
    for _ in range(5):
        sign_in(Client(), staff.email, "guess", address)

    refused = sign_in(Client(), staff.email, "guess", address, HTTP_ACCEPT="application/json")

    error = refused.json()["error"]
    assert refused.status_code == 429
    assert error["code"] == "throttled"
    assert error["details"] == {"retry_after_seconds": int(refused["Retry-After"])}


def test_showing_the_login_page_is_not_an_attempt(default_rates, ratelimit_clock):
    address = fresh_address()

    statuses = [Client().get(LOGIN, REMOTE_ADDR=address).status_code for _ in range(12)]

    assert statuses == [200] * 12


@override_settings(THROTTLE_LOGIN_RATE="5/min", AUTH_THROTTLE_RATE="10/min", CACHES=DOWN_REDIS)
def test_with_redis_down_the_admin_login_is_refused():
    staff = StaffFactory.create()
    client = Client()

    response = sign_in(client, staff.email, DEFAULT_PASSWORD, fresh_address())

    assert response.status_code == 503
    assert "Error code: <code>rate_limit_unavailable</code>" in response.content.decode()
    assert "_auth_user_id" not in client.session


@override_settings(ROOT_URLCONF="tests.security.admin_login_urls")
def test_the_limit_follows_the_url_name_whichever_view_renders_the_login(
    default_rates, ratelimit_clock
):
    address = fresh_address()

    statuses = [
        Client().post("/staff/login/", {"username": "a@example.com"}, REMOTE_ADDR=address)
        for _ in range(6)
    ]

    assert [r.status_code for r in statuses] == [200] * 5 + [429]
    assert statuses[0].content == b"another login view"
