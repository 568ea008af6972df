"""Every gateway misbehaving on every call that matters: starting a payment, verifying it and
refunding it, against answers of 500, timeouts, malformed JSON and slow answers.

The fakes are real HTTP servers (tests/fakes); the shop is driven through its API. For each
case: the typed error the client gets, how many calls reached the gateway (a call is repeated
only where that is safe: reads, and Stripe's POSTs with an Idempotency-Key), and the state left
behind (the order still payable, nothing paid or refunded that was not, money of a refund whose
answer was lost held rather than refunded twice).
"""

from __future__ import annotations

import uuid
from decimal import Decimal

import pytest

from orders.models import Order
from payments.models import Payment, Refund
from shop.platform_settings import set_setting
from tests.conftest import client_for
from tests.factories import StaffFactory
from tests.ops.worker import wait_for
from tests.payments.helpers import place_order
from tests.payments.money import paid_order, staff_refund

pytestmark = [pytest.mark.faults, pytest.mark.django_db]

GATEWAYS = ["paystack", "stripe", "flutterwave"]
FAULTS = ["server_error", "timeout", "malformed", "slow"]
READ_TIMEOUT = 1.0
TIMEOUT_DELAY = 1.6  # past the read timeout: the client gives up
SLOW_DELAY = 0.3  # well within it: only slow

# The gateway's path of each call, as the fakes route it.
PATHS = {
    ("paystack", "initialise"): "/transaction/initialize",
    ("stripe", "initialise"): "/v1/checkout/sessions",
    ("flutterwave", "initialise"): "/v3/payments",
    ("paystack", "verify"): "/transaction/verify",
    ("stripe", "verify"): "/v1/checkout/sessions/cs_",
    ("flutterwave", "verify"): "/verify",
    ("paystack", "refund"): "/refund",
    ("stripe", "refund"): "/v1/refunds",
    ("flutterwave", "refund"): "/refund",
}
# Attempts allowed: 1 + PAYMENT_HTTP_MAX_RETRIES (2) where repeating is safe, else 1.
RETRIED = 3


def attempts(gateway: str, call: str, fault: str) -> int:
    if fault in {"malformed", "slow"}:
        return 1  # an answer came: nothing to repeat
    safe = call == "verify" or gateway == "stripe"  # a GET, or a POST with Idempotency-Key
    return RETRIED if safe else 1


@pytest.fixture
def fakes(settings, fake_paystack, fake_stripe, fake_flutterwave):
    settings.PAYMENT_HTTP_READ_TIMEOUT = READ_TIMEOUT
    set_setting("checkout.allowed_payment_methods", GATEWAYS)
    return {"paystack": fake_paystack, "stripe": fake_stripe, "flutterwave": fake_flutterwave}


def misbehave(fake, gateway: str, call: str, fault: str) -> None:
    """The next calls of ``call`` misbehave: as many as the client may make, no more."""
    count, path = attempts(gateway, call, fault), PATHS[gateway, call]
    if fault == "server_error":
        fake.fail_next(count, status=500, path_contains=path)
    elif fault == "timeout":
        fake.delay_next(count, seconds=TIMEOUT_DELAY, path_contains=path)
    elif fault == "malformed":
        fake.malformed_next(count, path_contains=path)
    else:
        fake.delay_next(count, seconds=SLOW_DELAY, path_contains=path)


def calls(fake, gateway: str, call: str) -> int:
    method = "GET" if call == "verify" else "POST"
    return len(fake.calls(method, PATHS[gateway, call]))


def error_code(response) -> str | None:
    return response.json()["error"]["code"] if response.status_code >= 400 else None


EXPECTED_ERROR = {
    "server_error": "payment_gateway_unavailable",
    "timeout": "payment_gateway_unavailable",
    "malformed": "payment_gateway_bad_response",
    "slow": None,
}


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("gateway", GATEWAYS)
def test_starting_a_payment(fakes, customer, gateway, fault):
    fake = fakes[gateway]
    client = client_for(customer)
    misbehave(fake, gateway, "initialise", fault)

    response, _ = place_order(client, customer, method=gateway)

    assert calls(fake, gateway, "initialise") == attempts(gateway, "initialise", fault)
    order = Order.objects.get()
    payment = Payment.objects.get(order=order)
    # The order is placed and its stock held whatever the gateway did: the customer may pay.
    assert (order.state, order.stock_deducted) == ("pending_payment", False)
    if fault == "slow":
        assert response.status_code == 201
        assert payment.status == "pending"
        assert response.json()["payment"]["redirect_url"].startswith(fake.base_url)
        return
    # The order is kept: 502 payment_gateway_unavailable, the typed error as its cause.
    error = response.json()["error"]
    assert (response.status_code, error["code"]) == (502, "payment_gateway_unavailable")
    assert (error["details"]["order_id"], error["details"]["cause"]) == (
        order.pk,
        EXPECTED_ERROR[fault],
    )
    assert payment.status == "failed"  # this attempt is over; a new one may start
    again = client.post(f"/api/orders/{order.pk}/pay/")
    assert again.status_code == 201, again.content
    assert again.json()["payment"]["attempt"] == 2


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("gateway", GATEWAYS)
def test_verifying_a_payment(fakes, customer, gateway, fault):
    fake = fakes[gateway]
    client = client_for(customer)
    response, _ = place_order(client, customer, method=gateway)
    assert response.status_code == 201, response.content
    payment = Payment.objects.get()
    fake.pay(payment.reference)  # paid at the gateway; its webhook is not delivered
    misbehave(fake, gateway, "verify", fault)

    verified = client.get(f"/api/payments/verify/{payment.reference}/")

    assert calls(fake, gateway, "verify") == attempts(gateway, "verify", fault)
    assert error_code(verified) == EXPECTED_ERROR[fault]
    order = Order.objects.get()
    if fault == "slow":
        assert (verified.status_code, verified.json()["status"]) == (200, "succeeded")
        assert (order.state, order.stock_deducted) == ("paid", True)
        return
    assert verified.status_code == 502
    # Nothing was learnt, nothing changed; the next verify (or the webhook) pays it.
    assert (order.state, Payment.objects.get().status) == ("pending_payment", "pending")
    healed = client.get(f"/api/payments/verify/{payment.reference}/")
    assert (healed.status_code, healed.json()["order_state"]) == (200, "paid")


@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("gateway", GATEWAYS)
def test_refunding_a_payment(fakes, customer, gateway, fault):
    fake = fakes[gateway]
    order, _, _ = paid_order(fake, client_for(customer), customer, gateway=gateway)
    staff = StaffFactory.create(is_superuser=True)
    misbehave(fake, gateway, "refund", fault)

    response = staff_refund(
        staff, order, {"amount": "1000.00", "reason": "fault test"}, key=str(uuid.uuid4())
    )

    assert calls(fake, gateway, "refund") == attempts(gateway, "refund", fault)
    # A refund's lost answer is an unknown outcome, never a failure: answered, held pending.
    assert response.status_code == 200, response.content
    refund = Refund.objects.get()
    order.refresh_from_db()
    if fault == "slow":
        assert refund.outcome_unknown is False
        assert refund.status in {"pending", "processed"}
        assert len(_gateway_refunds(fake)) == 1
        return
    assert (refund.status, refund.outcome_unknown) == ("pending", True)
    assert response.json()["refund"]["outcome_unknown"] is True
    assert (order.refund_pending, order.amount_refunded) == (Decimal("1000.00"), Decimal("0.00"))
    # The gateway made the refund at most once, however often it was asked: not at all when
    # it failed before acting (500, unreadable answer), once when it acted late (timeout).
    made = 1 if fault == "timeout" else 0
    wait_for(lambda: len(_gateway_refunds(fake)) == made, what=f"{made} refund at the gateway")
    # Staff who try again cannot pay the held money back a second time.
    retry = staff_refund(
        staff, order, {"amount": "4000.01", "reason": "again"}, key=str(uuid.uuid4())
    )
    assert (retry.status_code, error_code(retry)) == (409, "refund_exceeds_refundable")


def _gateway_refunds(fake) -> list[dict[str, object]]:
    with fake.lock:
        return list(fake.refunds.values())
