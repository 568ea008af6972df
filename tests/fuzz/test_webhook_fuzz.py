"""Hypothesis against each gateway's webhook endpoint, parser and signature check.

Random bytes, random JSON, JSON shaped like each gateway's events with random values, huge
bodies and deeply nested ones; unsigned, wrongly signed and correctly signed. The endpoint
never answers a 5xx; nothing is processed without a valid signature; a signed event that the
shop stores can be processed without a crash.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import time
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from rest_framework.test import APIClient

from payments.gateways import get_provider
from payments.models import WebhookEvent
from payments.providers.errors import InvalidSignature, InvalidWebhookPayload
from payments.services import Deferred, process_webhook_event
from tests.fakes.paystack import paystack_signature

pytestmark = [pytest.mark.fuzz, pytest.mark.django_db]

# Examples per property in `make test`; bench/fuzz_api.py raises it with FUZZ_EXAMPLES.
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "10")) * 4
FUZZ_SETTINGS = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
GATEWAYS = ["paystack", "stripe", "flutterwave"]
PAYSTACK_KEY = "sk_test_webhook_fuzz_0000000000000000"
STRIPE_SECRET = "whsec_webhook_fuzz_0000000000000000"
FLUTTERWAVE_HASH = "webhook-fuzz-verif-hash"


@pytest.fixture(autouse=True)
def webhook_keys(settings):
    settings.PAYSTACK_SECRET_KEY = PAYSTACK_KEY
    settings.STRIPE_SECRET_KEY = "sk_test_webhook_fuzz"
    settings.STRIPE_WEBHOOK_SECRET = STRIPE_SECRET
    settings.FLUTTERWAVE_SECRET_KEY = "FLWSECK_TEST-webhook-fuzz"
    settings.FLUTTERWAVE_WEBHOOK_HASH = FLUTTERWAVE_HASH


def stripe_signature(body: bytes, secret: str = STRIPE_SECRET) -> str:
    """Stripe's scheme over any bytes (its SDK's helper takes text only)."""
    timestamp = int(time.time())
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"t={timestamp},v1={digest.hexdigest()}"


def signed_headers(gateway: str, body: bytes) -> dict[str, str]:
    return {
        "paystack": {"x-paystack-signature": paystack_signature(body, PAYSTACK_KEY)},
        "stripe": {"stripe-signature": stripe_signature(body)},
        "flutterwave": {"verif-hash": FLUTTERWAVE_HASH},
    }[gateway]


def forged_headers(gateway: str, body: bytes) -> dict[str, str]:
    """Signed with the wrong secret: what an attacker who knows the scheme can send."""
    return {
        "paystack": {"x-paystack-signature": paystack_signature(body, "sk_test_not_ours")},
        "stripe": {"stripe-signature": stripe_signature(body, "whsec_not_ours")},
        "flutterwave": {"verif-hash": "not-the-hash"},
    }[gateway]


# --- strategies -----------------------------------------------------------------------------
scalars = (
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=20)
    | st.sampled_from(["success", "failed", "NGN", "USD", "ORD-1-a1", "\x00", "\ud800"])
)
json_values = st.recursive(
    scalars,
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4)
    ),
    max_leaves=25,
)


def _maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return value | json_values


EVENT_FIELDS = {
    "id": _maybe(st.integers(min_value=1)),
    "reference": _maybe(st.text(max_size=20)),
    "tx_ref": _maybe(st.text(max_size=20)),
    "amount": _maybe(st.integers(min_value=-10, max_value=10**12)),
    "currency": _maybe(st.sampled_from(["NGN", "USD", "ngn", ""])),
    "status": _maybe(st.sampled_from(["success", "successful", "failed", "processed", "won"])),
    "metadata": json_values,
    "transaction_reference": _maybe(st.text(max_size=20)),
    "refund_reference": json_values,
    "payment_intent": json_values,
    "created": _maybe(st.integers(min_value=0, max_value=2**40)),
}
event_objects = st.fixed_dictionaries({}, optional=EVENT_FIELDS)
PAYSTACK_EVENTS = [
    "charge.success", "refund.processed", "refund.failed", "charge.dispute.create",
    "charge.dispute.resolve", "transfer.success",
]  # fmt: skip
STRIPE_EVENTS = [
    "checkout.session.completed", "payment_intent.succeeded", "payment_intent.payment_failed",
    "refund.updated", "charge.dispute.created", "charge.dispute.closed",
    "checkout.session.expired",
]  # fmt: skip
GATEWAY_EVENTS = {
    "paystack": st.fixed_dictionaries(
        {
            "event": _maybe(st.sampled_from(PAYSTACK_EVENTS)),
            "data": _maybe(event_objects),
        }
    ),
    "stripe": st.fixed_dictionaries(
        {
            "id": _maybe(st.text(min_size=1, max_size=20)),
            "type": _maybe(st.sampled_from(STRIPE_EVENTS)),
            "created": _maybe(st.integers(min_value=0, max_value=2**40)),
            "data": _maybe(st.fixed_dictionaries({"object": _maybe(event_objects)})),
        }
    ),
    "flutterwave": st.fixed_dictionaries(
        {
            "event": _maybe(st.sampled_from(["charge.completed", "transfer.completed"])),
            "data": _maybe(event_objects),
        }
    ),
}
bodies = st.binary(max_size=2048) | json_values.map(lambda v: json.dumps(v).encode())


def post(gateway: str, body: bytes, headers: dict[str, str]):
    meta: dict[str, Any] = {
        f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()
    }
    return APIClient().post(
        f"/api/webhooks/{gateway}/", data=body, content_type="application/json", **meta
    )


def assert_answered_without_a_5xx(response) -> None:
    assert response.status_code < 500, response.content
    assert response["Content-Type"] == "application/json"


# --- the endpoint ---------------------------------------------------------------------------
@pytest.mark.parametrize("gateway", GATEWAYS)
@FUZZ_SETTINGS
@given(body=bodies, signature=st.text(max_size=200))
def test_unsigned_or_badly_signed_bodies_are_refused_and_never_processed(gateway, body, signature):
    header = {"paystack": "x-paystack-signature", "stripe": "stripe-signature"}.get(
        gateway, "verif-hash"
    )
    for headers in ({}, {header: signature}, forged_headers(gateway, body)):
        response = post(gateway, body, headers)

        assert_answered_without_a_5xx(response)
        assert (response.status_code, response.json()["error"]["code"]) == (
            401,
            "invalid_signature",
        )
    assert not WebhookEvent.objects.filter(signature_valid=True).exists()


@pytest.mark.parametrize("gateway", GATEWAYS)
@FUZZ_SETTINGS
@given(data=st.data())
def test_signed_bodies_of_any_shape_are_stored_or_refused_and_processed_without_a_crash(
    gateway, data
):
    payload = data.draw(GATEWAY_EVENTS[gateway] | json_values, label="payload")
    body = json.dumps(payload).encode()

    response = post(gateway, body, signed_headers(gateway, body))

    assert_answered_without_a_5xx(response)
    if response.status_code != 200:
        assert (response.status_code, response.json()["error"]["code"]) == (
            400,
            "invalid_webhook_payload",
        )
        return
    for row in WebhookEvent.objects.filter(signature_valid=True, processed_at__isnull=True):
        try:
            outcome = process_webhook_event(event_id=row.pk)
        except Deferred:
            continue  # waits for its charge, as designed
        assert isinstance(outcome, str)


@pytest.mark.parametrize("gateway", GATEWAYS)
@pytest.mark.parametrize("depth", [65, 1_000, 100_000])
def test_deeply_nested_signed_bodies_are_a_400(gateway, depth):
    body = b'{"event": "charge.success", "data": ' + b"[" * depth + b"]" * depth + b"}"

    response = post(gateway, body, signed_headers(gateway, body))

    assert (response.status_code, response.json()["error"]["code"]) == (
        400,
        "invalid_webhook_payload",
    )


@pytest.mark.parametrize("gateway", GATEWAYS)
@pytest.mark.parametrize("size", [262_145, 3_000_000])
def test_huge_bodies_signed_or_not_are_a_413_and_not_stored(gateway, size):
    body = b'{"event": "charge.success", "data": {"x": "' + b"a" * size + b'"}}'

    for headers in ({}, signed_headers(gateway, body)):
        response = post(gateway, body, headers)

        assert (response.status_code, response.json()["error"]["code"]) == (
            413,
            "payload_too_large",
        )
    assert not WebhookEvent.objects.exists()


# --- the parsers and signature checks, without the endpoint ---------------------------------
@pytest.mark.parametrize("gateway", GATEWAYS)
@FUZZ_SETTINGS
@given(body=bodies, headers=st.dictionaries(st.text(max_size=30), st.text(max_size=100)))
def test_a_parser_never_reads_a_body_whose_signature_it_did_not_check(gateway, body, headers):
    provider = get_provider(gateway)
    with pytest.raises(InvalidSignature):
        provider.parse_webhook(headers, body)
    with pytest.raises(InvalidSignature):
        provider.parse_webhook(forged_headers(gateway, body), body)


@pytest.mark.parametrize("gateway", ["paystack", "stripe"])
@FUZZ_SETTINGS
@given(payload=st.data(), position=st.integers(min_value=0), flip=st.integers(1, 255))
def test_one_changed_byte_breaks_a_signature_over_the_body(gateway, payload, position, flip):
    body = json.dumps(payload.draw(GATEWAY_EVENTS[gateway])).encode()
    headers = signed_headers(gateway, body)
    changed = bytearray(body)
    changed[position % len(body)] ^= flip

    with pytest.raises(InvalidSignature):
        get_provider(gateway).parse_webhook(headers, bytes(changed))


@pytest.mark.parametrize("gateway", GATEWAYS)
@FUZZ_SETTINGS
@given(data=st.data())
def test_a_signed_body_is_an_event_list_or_a_payload_error(gateway, data):
    payload = data.draw(GATEWAY_EVENTS[gateway] | json_values | st.binary(max_size=512))
    body = payload if isinstance(payload, bytes) else json.dumps(payload).encode()

    try:
        events = get_provider(gateway).parse_webhook(signed_headers(gateway, body), body)
    except InvalidWebhookPayload:
        return
    except InvalidSignature:
        # Stripe's SDK verifies text: bytes that are not UTF-8 (Stripe sends none) are refused.
        assert gateway == "stripe", body
        with pytest.raises(UnicodeDecodeError):
            body.decode("utf-8")
        return
    assert isinstance(events, list)
    for event in events:
        assert event.gateway == gateway
        assert isinstance(event.event_key, str)
        assert event.event_key
        if gateway == "flutterwave":
            assert event.trusted is False  # its hash does not cover the body: verified first
