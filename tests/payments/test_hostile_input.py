"""Input a fuzzer sent the payment endpoints, each once a 500: NUL bytes and lone surrogates
PostgreSQL cannot store, the dev-only dummy gateway with DEBUG off, a Stripe attempt that
never reached Stripe, signed webhooks missing fields or nested a thousand levels deep.

Every answer is the project's error body with a stable code, and nothing is lost: refused
bodies stay in the audit log, verified events are stored and processed.
"""

from __future__ import annotations

import hashlib
import json
from datetime import timedelta

import pytest
from django.http import Http404
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient

from inventory.models import InventoryLock
from orders.models import Order
from payments import maintenance, views
from payments.models import Payment, WebhookEvent
from payments.providers.dummy import sign as dummy_signature
from shop.platform_settings import set_setting
from tests.fakes.paystack import paystack_signature
from tests.fakes.stripe import stripe_signature_header
from tests.ops import payment_builders as build
from tests.payments.helpers import place_dummy_order, place_order

pytestmark = pytest.mark.django_db

PAYSTACK_KEY = "sk_test_hostile_input_0000000000000000"
STRIPE_WEBHOOK_SECRET = "whsec_hostile_input_0000000000000000"
FLUTTERWAVE_HASH = "hostile-input-verif-hash"
DUMMY_SECRET = "hostile-input-dummy-secret"


@pytest.fixture
def webhook_keys(settings):
    """Each gateway configured with known signing secrets (no API call is made)."""
    settings.PAYSTACK_SECRET_KEY = PAYSTACK_KEY
    settings.STRIPE_SECRET_KEY = "sk_test_hostile_input"
    settings.STRIPE_WEBHOOK_SECRET = STRIPE_WEBHOOK_SECRET
    settings.FLUTTERWAVE_SECRET_KEY = "FLWSECK_TEST-hostile-input"
    settings.FLUTTERWAVE_WEBHOOK_HASH = FLUTTERWAVE_HASH
    settings.DUMMY_PAYMENT_SECRET = DUMMY_SECRET
    return settings


def signed(gateway: str, body: bytes) -> dict[str, str]:
    return {
        "paystack": {"x-paystack-signature": paystack_signature(body, PAYSTACK_KEY)},
        "stripe": {"stripe-signature": stripe_signature_header(body, STRIPE_WEBHOOK_SECRET)},
        "flutterwave": {"verif-hash": FLUTTERWAVE_HASH},
        "dummy": {"x-dummy-signature": dummy_signature(body, DUMMY_SECRET)},
    }[gateway]


def post_webhook(gateway: str, body: bytes, headers: dict[str, str] | None = None):
    meta = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in (headers or {}).items()}
    return APIClient().post(
        f"/api/webhooks/{gateway}/", data=body, content_type="application/json", **meta
    )


def error_code(response) -> str:
    body = response.json()
    assert set(body["error"]) == {"code", "message", "details"}, body
    return body["error"]["code"]


# --- 1. a NUL byte in a payment reference ---------------------------------------------------
def test_verify_with_a_nul_byte_in_the_reference_answers_like_an_unknown_reference(
    customer_client,
):
    response = customer_client.get("/api/payments/verify/%00/")

    assert response.status_code == 404
    assert error_code(response) == "payment_not_found"


def test_dummy_page_with_a_nul_byte_in_the_reference_is_not_found(settings):
    settings.DEBUG = True
    with pytest.raises(Http404):
        views.dummy_hosted_page(RequestFactory().get("/"), reference="ORD-1-1-\x00")


# --- 2. NUL bytes and lone surrogates in webhook bodies ---------------------------------------
@pytest.mark.parametrize("gateway", ["paystack", "stripe", "flutterwave"])
@pytest.mark.parametrize(
    "body", [b"\x00", b'{"event":"charge.success\x00"}'], ids=["nul", "in-json"]
)
def test_unsigned_body_with_nul_bytes_is_refused_and_kept_for_audit(webhook_keys, gateway, body):
    response = post_webhook(gateway, body, {"x-paystack-signature": "0" * 128})

    assert response.status_code == 401
    assert error_code(response) == "invalid_signature"
    row = WebhookEvent.objects.get()
    assert (row.gateway, row.signature_valid, row.processed_at) == (gateway, False, None)
    assert row.raw_body == body.decode().replace("\x00", "\ufffd")


def test_signed_event_with_an_escaped_nul_is_stored_processed_and_acknowledged(
    webhook_keys, django_capture_on_commit_callbacks
):
    body = b'{"event":"charge.completed\\u0000","data":{"id":1,"tx_ref":"abc"}}'

    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook("flutterwave", body, signed("flutterwave", body))

    assert (response.status_code, response.json()) == (200, {"received": 1, "duplicates": 0})
    row = WebhookEvent.objects.get()
    # The audit copy is the redacted JSON, with the escaped NUL stored as U+FFFD; its length
    # and hash are those of what was received.
    assert row.raw_body == '{"event":"charge.completed\\ufffd","data":{"id":1,"tx_ref":"abc"}}'
    assert (row.body_length, row.body_sha256) == (len(body), hashlib.sha256(body).hexdigest())
    assert (row.signature_valid, row.event_type, row.outcome) == (
        True,
        "charge.completed\ufffd",
        "ignored",
    )


@pytest.mark.parametrize("escape", ["\\u0000", "\\ud800", "\\udfff"])
def test_signed_charge_naming_an_unstorable_reference_is_stored_and_matches_no_payment(
    webhook_keys, django_capture_on_commit_callbacks, escape
):
    body = (
        '{"event":"charge.success","data":{"id":7,"reference":"ORD-1-1-abc'
        + escape
        + '","amount":500000,"currency":"NGN","status":"success",'
        '"paid_at":"2026-03-01T12:00:00Z"}}'
    ).encode()

    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook("paystack", body, signed("paystack", body))

    assert response.status_code == 200
    row = WebhookEvent.objects.get()
    assert row.event["reference"] == "ORD-1-1-abc\ufffd"
    assert (row.kind, row.outcome) == ("charge_succeeded", "unknown_reference")


def test_signed_unknown_event_with_lone_surrogates_is_stored(
    webhook_keys, django_capture_on_commit_callbacks
):
    body = b'{"id":"evt_\\ud800","type":"x.\\udc00","data":{"object":{"id":"o_1"}}}'

    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook("stripe", body, signed("stripe", body))

    assert response.status_code == 200
    row = WebhookEvent.objects.get()
    assert (row.event_key, row.event_type, row.outcome) == ("evt_\ufffd", "x.\ufffd", "ignored")


# --- 3. the dummy gateway with DEBUG off ------------------------------------------------------
def test_dummy_webhook_without_debug_is_an_unknown_gateway(webhook_keys):
    webhook_keys.DEBUG = False
    body = b'{"type":"charge.succeeded"}'

    response = post_webhook("dummy", body, signed("dummy", body))

    assert response.status_code == 404
    assert error_code(response) == "not_found"
    assert not WebhookEvent.objects.exists()


def test_checkout_with_the_dummy_gateway_without_debug_is_refused_and_places_nothing(
    settings, customer, customer_client
):
    settings.DEBUG = False
    set_setting("checkout.allowed_payment_methods", ["paystack", "dummy"])

    response, _product = place_order(customer_client, customer, method="dummy")

    assert response.status_code == 400
    assert error_code(response) == "payment_method_not_allowed"
    assert response.json()["error"]["details"]["available"] == ["paystack"]
    assert not Order.objects.exists()
    assert not InventoryLock.objects.exists()


@pytest.mark.parametrize("state", ["pending_payment", "payment_failed"])
def test_paying_a_dummy_order_after_debug_went_off_is_refused_and_changes_nothing(
    settings, customer, customer_client, state
):
    _, order = place_dummy_order(settings, customer_client, customer)
    Order.objects.filter(pk=order.pk).update(state=state)
    settings.DEBUG = False

    response = customer_client.post(f"/api/orders/{order.pk}/pay/")

    assert response.status_code == 409
    assert error_code(response) == "order_not_payable"
    assert Payment.objects.filter(order=order).count() == 1
    assert Order.objects.get(pk=order.pk).state == state


# --- 4. a Stripe attempt that never reached Stripe --------------------------------------------
@pytest.fixture
def stripe_attempt_that_never_started(fake_stripe, customer, customer_client) -> Payment:
    """Checkout with Stripe down: the documented 502, and an attempt without a session id."""
    fake_stripe.fail_next(3, status=503, path_contains="/v1/checkout/sessions")
    response, _product = place_order(customer_client, customer, method="stripe")
    assert response.status_code == 502
    assert error_code(response) == "payment_gateway_unavailable"
    payment = Payment.objects.get(order_id=response.json()["error"]["details"]["order_id"])
    assert (payment.gateway, payment.gateway_ids) == ("stripe", {})
    return payment


def test_verify_of_a_stripe_attempt_that_never_reached_stripe_is_not_found_there(
    stripe_attempt_that_never_started, customer_client, fake_stripe
):
    payment = stripe_attempt_that_never_started

    response = customer_client.get(f"/api/payments/verify/{payment.reference}/")

    assert response.status_code == 404
    assert error_code(response) == "payment_not_found_at_gateway"
    assert Payment.objects.get(pk=payment.pk).status == "failed"
    assert Order.objects.get(pk=payment.order_id).state == "pending_payment"
    assert fake_stripe.calls("GET", "/v1/checkout/sessions/") == []


def test_reconciliation_goes_on_past_a_pending_stripe_payment_without_a_session(
    stripe_attempt_that_never_started, fake_paystack
):
    # Pending without a session id (as rows written before ids were kept): due first.
    stuck = stripe_attempt_that_never_started
    long_ago = timezone.now() - timedelta(hours=2)
    Payment.objects.filter(pk=stuck.pk).update(
        status="pending", created_at=long_ago, updated_at=long_ago
    )
    paid = build.paystack_payment(minutes_ago=60)
    fake_paystack.pay(paid.reference)

    report = maintenance.reconcile_pending_payments(older_than=timedelta(minutes=15))

    assert (report.checked, report.errors, dict(report.statuses)) == (2, 1, {"succeeded": 1})
    assert Order.objects.get(pk=paid.order_id).state == "paid"
    assert Payment.objects.get(pk=stuck.pk).status == "pending"


# --- 5. signed webhooks missing the fields of their event -------------------------------------
@pytest.mark.parametrize(
    ("gateway", "event"),
    [
        ("flutterwave", {"event": "charge.completed", "data": {"id": 3, "tx_ref": "abc"}}),
        ("paystack", {"event": "charge.success", "data": {"reference": "abc"}}),
        (
            "stripe",
            {"id": "evt_1", "type": "payment_intent.succeeded", "data": {"object": {"id": "p"}}},
        ),
    ],
    ids=["flutterwave", "paystack", "stripe"],
)
def test_signed_charge_event_missing_fields_is_an_invalid_payload_not_a_gateway_error(
    webhook_keys, gateway, event
):
    body = json.dumps(event).encode()

    response = post_webhook(gateway, body, signed(gateway, body))

    assert response.status_code == 400
    assert error_code(response) == "invalid_webhook_payload"
    assert response.json()["error"]["details"] == {"gateway": gateway}
    assert not WebhookEvent.objects.exists()


@pytest.mark.parametrize(
    "event",
    [
        {"id": "", "type": "charge.refunded", "data": {"object": {}}},
        {"id": None, "type": "charge.refunded", "data": {"object": {}}},
        {"id": "evt_1", "type": None, "data": {"object": {}}},
    ],
    ids=["empty id", "no id", "no type"],
)
def test_a_signed_stripe_event_without_its_id_or_type_is_an_invalid_payload(webhook_keys, event):
    # The id is the event's dedup key: two events without one could not be told apart.
    body = json.dumps(event).encode()

    response = post_webhook("stripe", body, signed("stripe", body))

    assert response.status_code == 400
    assert error_code(response) == "invalid_webhook_payload"
    assert not WebhookEvent.objects.exists()


# --- 6. signed webhooks nested a thousand levels deep -----------------------------------------
@pytest.mark.parametrize("gateway", ["paystack", "stripe", "flutterwave", "dummy"])
@pytest.mark.parametrize("body", [b"[" * 1000, b'{"data":' * 1000], ids=["array", "object"])
def test_signed_body_nested_a_thousand_levels_deep_is_an_invalid_payload(
    webhook_keys, gateway, body
):
    webhook_keys.DEBUG = True  # for the dummy gateway

    response = post_webhook(gateway, body, signed(gateway, body))

    assert response.status_code == 400
    assert error_code(response) == "invalid_webhook_payload"
    assert not WebhookEvent.objects.exists()
