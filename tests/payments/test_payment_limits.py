"""``/pay`` and ``/verify`` are limited per customer (THROTTLE_PAYMENT_RATE, 10/min by default):
the call over the limit is a 429 that never reaches the gateway; Redis down lets them through."""

import pytest
from django.test import override_settings

from payments.models import Payment
from tests.conftest import client_for
from tests.factories import UserFactory
from tests.payments.helpers import place_order
from tests.security.test_ratelimit import DOWN_REDIS

pytestmark = pytest.mark.django_db


@pytest.fixture
def default_rate(settings):
    from config import settings as production_settings

    settings.THROTTLE_PAYMENT_RATE = production_settings.THROTTLE_PAYMENT_RATE
    assert settings.THROTTLE_PAYMENT_RATE == "10/min"


@pytest.fixture
def paystack_order(fake_paystack, customer, customer_client):
    fake_paystack.webhook_target = None
    response, _ = place_order(customer_client, customer, method="paystack")
    assert response.status_code == 201, response.content
    return response.json()["id"]


def gateway_sessions(fake) -> int:
    return len(fake.calls("POST", "/transaction/initialize"))


def test_the_eleventh_pay_call_in_a_minute_is_429_and_never_reaches_the_gateway(
    default_rate, ratelimit_clock, fake_paystack, paystack_order, customer_client
):
    ratelimit_clock.advance(15)
    statuses = [
        customer_client.post(f"/api/orders/{paystack_order}/pay/").status_code for _ in range(10)
    ]
    sessions = gateway_sessions(fake_paystack)
    attempts = Payment.objects.filter(order_id=paystack_order).count()

    eleventh = customer_client.post(f"/api/orders/{paystack_order}/pay/")

    assert statuses == [201] * 10
    assert eleventh.status_code == 429
    assert eleventh["Retry-After"] == "45"
    assert eleventh.json()["error"] == {
        "code": "throttled",
        "message": "Request was throttled. Expected available in 45 seconds.",
        "details": {"retry_after_seconds": 45},
    }
    assert gateway_sessions(fake_paystack) == sessions
    assert Payment.objects.filter(order_id=paystack_order).count() == attempts

    ratelimit_clock.advance(45)
    assert customer_client.post(f"/api/orders/{paystack_order}/pay/").status_code == 201


def test_the_pay_limit_is_per_customer(
    default_rate, ratelimit_clock, fake_paystack, paystack_order, customer_client
):
    for _ in range(10):
        customer_client.post(f"/api/orders/{paystack_order}/pay/")
    other = UserFactory()
    other_client = client_for(other)
    response, _ = place_order(other_client, other, method="paystack")

    other_pay = other_client.post(f"/api/orders/{response.json()['id']}/pay/")

    assert other_pay.status_code == 201


def test_the_eleventh_verify_in_a_minute_is_429_and_never_asks_the_gateway(
    default_rate, ratelimit_clock, fake_paystack, paystack_order, customer_client
):
    reference = Payment.objects.get(order_id=paystack_order).reference
    # Paying is counted apart: a customer who paid ten times may still verify.
    for _ in range(10):
        customer_client.post(f"/api/orders/{paystack_order}/pay/")
    statuses = [
        customer_client.get(f"/api/payments/verify/{reference}/").status_code for _ in range(10)
    ]
    verifies = len(fake_paystack.calls("GET", "/transaction/verify/"))

    eleventh = customer_client.get(f"/api/payments/verify/{reference}/")

    assert statuses == [200] * 10
    assert eleventh.status_code == 429
    assert eleventh.json()["error"]["code"] == "throttled"
    assert len(fake_paystack.calls("GET", "/transaction/verify/")) == verifies


@override_settings(THROTTLE_PAYMENT_RATE="1/min", CACHES=DOWN_REDIS)
def test_with_redis_down_paying_and_verifying_go_on(fake_paystack, paystack_order, customer_client):
    reference = Payment.objects.get(order_id=paystack_order).reference
    pay = f"/api/orders/{paystack_order}/pay/"

    pays = [customer_client.post(pay).status_code for _ in range(2)]
    verifies = [
        customer_client.get(f"/api/payments/verify/{reference}/").status_code for _ in range(2)
    ]

    assert (pays, verifies) == ([201, 201], [200, 200])
