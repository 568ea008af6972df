"""Each abuse limit over HTTP: 429 + Retry-After + the standard body; fail modes on outage."""

import json
import secrets

import pytest
from django.test import override_settings
from knox.crypto import hash_token
from knox.models import AuthToken
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.test import APIRequestFactory, force_authenticate
from rest_framework.views import APIView

from security.throttles import (
    CheckoutThrottle,
    LoginThrottle,
    StaffThrottle,
    WebhookThrottle,
    throttle_view,
)
from tests.factories import DEFAULT_PASSWORD, StaffFactory, UserFactory
from tests.security.test_ratelimit import DOWN_REDIS
from tests.shop.helpers import assert_error

TOKEN = "/api/auth/token/"


def fresh_address() -> str:
    n = secrets.randbelow(250**3)
    return f"10.{n // 62500}.{n // 250 % 250}.{n % 250 + 1}"


class _Ok(APIView):
    permission_classes = [AllowAny]

    def post(self, request):
        return Response({"ok": True})


class WebhookView(_Ok):
    authentication_classes: list = []
    throttle_classes = [WebhookThrottle]


class CheckoutView(_Ok):
    throttle_classes = [CheckoutThrottle]


class StaffView(_Ok):
    throttle_classes = [StaffThrottle]


def call(view_class, *, address: str, user=None):
    request = APIRequestFactory().post("/x/", {}, format="json", REMOTE_ADDR=address)
    if user is not None:
        force_authenticate(request, user=user)
    return view_class.as_view()(request)


def assert_throttled(response, retry_after: int) -> None:
    response.render()
    assert response.status_code == 429, response.content
    assert response["Retry-After"] == str(retry_after)
    body = response.data
    assert body["error"]["code"] == "throttled"
    assert body["error"]["details"] == {"retry_after_seconds": retry_after}


# --- Login / token ----------------------------------------------------------------------------


@pytest.mark.django_db
@override_settings(THROTTLE_LOGIN_RATE="5/min")
def test_token_requests_are_limited_per_address_and_email(api_client, customer, ratelimit_clock):
    address = fresh_address()
    wrong = {"email": customer.email, "password": "guess"}

    ratelimit_clock.advance(20)
    statuses = [
        api_client.post(TOKEN, wrong, format="json", REMOTE_ADDR=address).status_code
        for _ in range(5)
    ]
    blocked = api_client.post(TOKEN, wrong, format="json", REMOTE_ADDR=address)
    # the same address trying another account, and the same account from elsewhere, go on
    other_email = api_client.post(
        TOKEN,
        {"email": "someone@example.com", "password": "x"},
        format="json",
        REMOTE_ADDR=address,
    )
    right_elsewhere = api_client.post(
        TOKEN,
        {"email": customer.email, "password": DEFAULT_PASSWORD},
        format="json",
        REMOTE_ADDR=fresh_address(),
    )

    assert statuses == [400] * 5
    error = assert_error(blocked, 429, "throttled")
    assert blocked["Retry-After"] == "40"
    assert error["details"] == {"retry_after_seconds": 40}
    assert other_email.status_code == 400
    assert right_elsewhere.status_code == 200


@pytest.mark.django_db
@override_settings(THROTTLE_LOGIN_RATE="2/min")
def test_the_email_is_matched_whatever_its_case(api_client, customer, ratelimit_clock):
    address = fresh_address()
    for email in (customer.email, customer.email.upper()):
        api_client.post(
            TOKEN, {"email": email, "password": "x"}, format="json", REMOTE_ADDR=address
        )

    blocked = api_client.post(
        TOKEN, {"email": f" {customer.email} ", "password": "x"}, format="json", REMOTE_ADDR=address
    )

    assert_error(blocked, 429, "throttled")


@pytest.mark.django_db
@override_settings(THROTTLE_LOGIN_RATE="2/min")
def test_a_blocked_sign_in_works_again_in_the_next_window(api_client, customer, ratelimit_clock):
    address = fresh_address()
    right = {"email": customer.email, "password": DEFAULT_PASSWORD}
    for _ in range(2):
        api_client.post(TOKEN, {**right, "password": "x"}, format="json", REMOTE_ADDR=address)
    blocked = api_client.post(TOKEN, right, format="json", REMOTE_ADDR=address)

    ratelimit_clock.advance(60)
    later = api_client.post(TOKEN, right, format="json", REMOTE_ADDR=address)

    assert blocked.status_code == 429
    assert later.status_code == 200
    assert AuthToken.objects.filter(
        user=customer, digest=hash_token(later.json()["token"])
    ).exists()


@pytest.mark.django_db
@override_settings(THROTTLE_LOGIN_RATE="5/min", CACHES=DOWN_REDIS)
def test_sign_in_is_refused_while_redis_is_down(api_client, customer):
    response = api_client.post(
        TOKEN,
        {"email": customer.email, "password": DEFAULT_PASSWORD},
        format="json",
        REMOTE_ADDR=fresh_address(),
    )

    assert_error(response, 503, "rate_limit_unavailable")
    assert not AuthToken.objects.filter(user=customer).exists()


@pytest.mark.django_db
@override_settings(AUTH_THROTTLE_RATE="3/min", CACHES=DOWN_REDIS)
def test_sign_up_is_refused_while_redis_is_down(api_client):
    from shop.models import User

    response = api_client.post(
        "/api/auth/register/",
        {
            "email": "new@example.com",
            "password": "a-long-passphrase-1",
            "first_name": "A",
            "last_name": "B",
        },
        format="json",
        REMOTE_ADDR=fresh_address(),
    )

    assert_error(response, 503, "rate_limit_unavailable")
    assert not User.objects.filter(email="new@example.com").exists()


@pytest.mark.django_db
@override_settings(THROTTLE_LOGIN_RATE="", AUTH_THROTTLE_RATE="", CACHES=DOWN_REDIS)
def test_with_the_limits_off_sign_in_does_not_need_redis(api_client, customer):
    response = api_client.post(
        TOKEN, {"email": customer.email, "password": DEFAULT_PASSWORD}, format="json"
    )

    assert response.status_code == 200


# --- Webhooks ---------------------------------------------------------------------------------


@override_settings(THROTTLE_WEBHOOK_RATE="3/min")
def test_webhooks_are_limited_per_client_address(ratelimit_clock):
    address = fresh_address()
    ratelimit_clock.advance(50)

    statuses = [call(WebhookView, address=address).status_code for _ in range(3)]
    blocked = call(WebhookView, address=address)
    other = call(WebhookView, address=fresh_address())

    assert statuses == [200, 200, 200]
    assert_throttled(blocked, retry_after=10)
    assert other.status_code == 200


def test_the_webhook_limit_defaults_to_100_a_minute(settings, ratelimit_clock):
    from config import settings as production_settings

    settings.THROTTLE_WEBHOOK_RATE = production_settings.THROTTLE_WEBHOOK_RATE
    address = fresh_address()

    statuses = [call(WebhookView, address=address).status_code for _ in range(101)]

    assert statuses == [200] * 100 + [429]


@override_settings(THROTTLE_WEBHOOK_RATE="1/min", CACHES=DOWN_REDIS)
def test_webhooks_are_let_through_while_redis_is_down():
    address = fresh_address()

    statuses = [call(WebhookView, address=address).status_code for _ in range(3)]

    assert statuses == [200, 200, 200]


@override_settings(THROTTLE_WEBHOOK_RATE="2/min")  # NUM_PROXIES is 0: the header is ignored
def test_a_forged_forwarded_for_header_does_not_dodge_the_webhook_limit(ratelimit_clock):
    address = fresh_address()
    factory = APIRequestFactory()
    statuses = []
    for n in range(3):
        request = factory.post(
            "/x/", {}, format="json", REMOTE_ADDR=address, HTTP_X_FORWARDED_FOR=f"1.2.3.{n}"
        )
        statuses.append(WebhookView.as_view()(request).status_code)

    assert statuses == [200, 200, 429]


# --- Checkout and staff -------------------------------------------------------------------------


@pytest.mark.django_db
@override_settings(THROTTLE_CHECKOUT_RATE="2/min")
def test_checkout_is_limited_per_customer_not_per_address(ratelimit_clock):
    customer, other = UserFactory(), UserFactory()
    shared_address = fresh_address()

    statuses = [
        call(CheckoutView, address=fresh_address(), user=customer).status_code for _ in range(2)
    ]
    blocked = call(CheckoutView, address=shared_address, user=customer)
    other_customer = call(CheckoutView, address=shared_address, user=other)

    assert statuses == [200, 200]
    assert_throttled(blocked, retry_after=60)
    assert other_customer.status_code == 200


@pytest.mark.django_db
@override_settings(THROTTLE_CHECKOUT_RATE="1/min", CACHES=DOWN_REDIS)
def test_checkout_is_let_through_while_redis_is_down():
    customer = UserFactory()

    statuses = [call(CheckoutView, address="10.0.0.1", user=customer).status_code for _ in range(2)]

    assert statuses == [200, 200]


@pytest.mark.django_db
@override_settings(THROTTLE_STAFF_RATE="3/min")
def test_staff_actions_are_limited_per_staff_user(ratelimit_clock):
    staff, colleague = StaffFactory(), StaffFactory()
    ratelimit_clock.advance(59)

    statuses = [call(StaffView, address="10.0.0.1", user=staff).status_code for _ in range(3)]
    blocked = call(StaffView, address="10.0.0.1", user=staff)
    colleague_response = call(StaffView, address="10.0.0.1", user=colleague)

    assert statuses == [200, 200, 200]
    assert_throttled(blocked, retry_after=1)
    assert colleague_response.status_code == 200


@pytest.mark.django_db
@override_settings(THROTTLE_STAFF_RATE="1/min")
def test_the_staff_throttle_works_outside_drf_for_admin_actions(rf, ratelimit_clock):
    request = rf.post("/admin/orders/order/1/actions/ship/")
    request.user = StaffFactory()

    first, second = StaffThrottle(), StaffThrottle()

    assert first.allow_request(request, None) is True
    assert second.allow_request(request, None) is False
    assert second.wait() == 60


# --- Plain Django views -------------------------------------------------------------------------


@throttle_view(WebhookThrottle)
def plain_webhook(request):
    from django.http import HttpResponse

    return HttpResponse("ok")


@throttle_view(LoginThrottle)
def plain_login(request):
    from django.http import HttpResponse

    return HttpResponse("ok")


@override_settings(THROTTLE_WEBHOOK_RATE="2/min")
def test_plain_django_views_get_the_same_answers(rf, ratelimit_clock):
    address = fresh_address()
    ratelimit_clock.advance(30)

    statuses = [plain_webhook(rf.post("/", REMOTE_ADDR=address)).status_code for _ in range(2)]
    blocked = plain_webhook(rf.post("/", REMOTE_ADDR=address))

    assert statuses == [200, 200]
    assert blocked.status_code == 429
    assert blocked["Retry-After"] == "30"
    assert json.loads(blocked.content)["error"] == {
        "code": "throttled",
        "message": "Request was throttled. Expected available in 30 seconds.",
        "details": {"retry_after_seconds": 30},
    }


@override_settings(THROTTLE_WEBHOOK_RATE="1/min", THROTTLE_LOGIN_RATE="1/min", CACHES=DOWN_REDIS)
def test_plain_django_views_keep_each_fail_mode(rf):
    webhook = [plain_webhook(rf.post("/", REMOTE_ADDR="10.0.0.1")).status_code for _ in range(2)]
    login = plain_login(rf.post("/", REMOTE_ADDR="10.0.0.1"))

    assert webhook == [200, 200]
    assert login.status_code == 503
    assert json.loads(login.content)["error"]["code"] == "rate_limit_unavailable"
