"""Webhook signatures against independently computed vectors (openssl) and tampered variants.

The gateways' documentation quotes no (body, key, signature) triple for either scheme, so the
known-good vectors below were computed outside Python:
  printf '%s' "$BODY" | openssl dgst -sha512 -hmac "$KEY"            (Paystack)
  printf '%s' "$T.$BODY" | openssl dgst -sha256 -hmac "$WHSEC"        (Stripe)
"""

import time
from decimal import Decimal

import pytest
import stripe

from payments.providers.dummy import DummyProvider
from payments.providers.errors import InvalidSignature
from payments.providers.flutterwave import FlutterwaveProvider
from payments.providers.paystack import PaystackProvider
from payments.providers.stripe_provider import StripeProvider

PAYSTACK_KEY = "sk_test_3f1e2d4c5b6a79880011223344556677"
PAYSTACK_BODY = (
    b'{"event":"charge.success","data":{"id":302961,"domain":"live","status":"success",'
    b'"reference":"qTPrJoy9Bx","amount":10000,"currency":"NGN",'
    b'"paid_at":"2016-09-30T21:10:19.000Z"}}'
)
PAYSTACK_SIGNATURE = (
    "39b589918acb43a1094304edfa7d8ae2a4f48460ec7e10e56e737950b48e69c1"
    "c5e2c24d6b5e2fd76b5b9ecf344e37103abccda41e95e059ec84e64e5665b9fc"
)

STRIPE_SECRET = "whsec_test_secret_0123456789"
STRIPE_TIMESTAMP = 1700000000
STRIPE_BODY = (
    b'{"id":"evt_1","object":"event","type":"payment_intent.succeeded","created":1700000000,'
    b'"data":{"object":{"id":"pi_1","object":"payment_intent","amount":5000,'
    b'"amount_received":5000,"currency":"ngn","metadata":{"reference":"ORD-1"}}}}'
)
STRIPE_V1 = "e0b554cca8f2f312eafe8c30eed8d5f6279f019ee8d652c1f8c2f755f0e4c056"


def paystack(key: str = PAYSTACK_KEY) -> PaystackProvider:
    return PaystackProvider(secret_key=key, base_url="http://127.0.0.1:9")


def stripe_provider() -> StripeProvider:
    return StripeProvider(
        secret_key="sk_test_x", webhook_secret=STRIPE_SECRET, api_base="http://127.0.0.1:9"
    )


def flip_one_byte(body: bytes) -> bytes:
    index = body.index(b"10000") + 1
    return body[:index] + b"1" + body[index + 1 :]


# --- Paystack -------------------------------------------------------------------------------


def test_paystack_accepts_the_known_signature():
    [event] = paystack().parse_webhook({"X-Paystack-Signature": PAYSTACK_SIGNATURE}, PAYSTACK_BODY)
    assert (event.kind, event.reference, str(event.amount)) == (
        "charge_succeeded",
        "qTPrJoy9Bx",
        "100.00",
    )


@pytest.mark.parametrize(
    ("headers", "body"),
    [
        pytest.param(
            {"x-paystack-signature": PAYSTACK_SIGNATURE},
            flip_one_byte(PAYSTACK_BODY),
            id="one-byte-changed",
        ),
        pytest.param(
            {"x-paystack-signature": PAYSTACK_SIGNATURE.upper()}, PAYSTACK_BODY, id="upper-case-hex"
        ),
        pytest.param({"x-paystack-signature": ""}, PAYSTACK_BODY, id="empty-header"),
        pytest.param({}, PAYSTACK_BODY, id="missing-header"),
        pytest.param(
            {"x-paystack-signature": PAYSTACK_SIGNATURE[:-2]}, PAYSTACK_BODY, id="truncated"
        ),
        pytest.param(
            {"x-paystack-signature": PAYSTACK_SIGNATURE + " "}, PAYSTACK_BODY, id="trailing-space"
        ),
        pytest.param({"x-paystack-signature": "é" * 128}, PAYSTACK_BODY, id="non-ascii"),
    ],
)
def test_paystack_refuses_tampered_webhooks(headers, body):
    with pytest.raises(InvalidSignature) as caught:
        paystack().parse_webhook(headers, body)
    assert (caught.value.code, caught.value.http_status) == ("invalid_signature", 401)


def test_paystack_refuses_a_signature_made_with_another_key():
    with pytest.raises(InvalidSignature):
        paystack("sk_test_another_key").parse_webhook(
            {"x-paystack-signature": PAYSTACK_SIGNATURE}, PAYSTACK_BODY
        )


# --- Stripe ---------------------------------------------------------------------------------


def stripe_header(*parts: str) -> dict[str, str]:
    return {"Stripe-Signature": ",".join(parts)}


def test_stripe_accepts_the_known_signature_within_tolerance(monkeypatch):
    monkeypatch.setattr(time, "time", lambda: STRIPE_TIMESTAMP + 299)
    [event] = stripe_provider().parse_webhook(
        stripe_header(f"t={STRIPE_TIMESTAMP}", f"v1={STRIPE_V1}"), STRIPE_BODY
    )
    assert (event.event_key, event.kind, event.reference, str(event.amount)) == (
        "evt_1",
        "charge_succeeded",
        "ORD-1",
        "50.00",
    )


def test_stripe_accepts_when_any_of_several_v1_signatures_matches(monkeypatch):
    monkeypatch.setattr(time, "time", lambda: STRIPE_TIMESTAMP)
    header = stripe_header(f"t={STRIPE_TIMESTAMP}", "v1=" + "0" * 64, f"v1={STRIPE_V1}")
    [event] = stripe_provider().parse_webhook(header, STRIPE_BODY)
    assert event.event_key == "evt_1"


@pytest.mark.parametrize(
    ("now", "parts", "body"),
    [
        pytest.param(
            STRIPE_TIMESTAMP + 301,
            (f"t={STRIPE_TIMESTAMP}", f"v1={STRIPE_V1}"),
            STRIPE_BODY,
            id="expired-timestamp",
        ),
        pytest.param(
            STRIPE_TIMESTAMP,
            (f"t={STRIPE_TIMESTAMP + 1}", f"v1={STRIPE_V1}"),
            STRIPE_BODY,
            id="timestamp-changed",
        ),
        pytest.param(
            STRIPE_TIMESTAMP,
            (f"t={STRIPE_TIMESTAMP}", f"v1={STRIPE_V1}"),
            STRIPE_BODY.replace(b"evt_1", b"evt_2"),
            id="one-byte-changed",
        ),
        pytest.param(
            STRIPE_TIMESTAMP,
            (f"t={STRIPE_TIMESTAMP}", f"v1={STRIPE_V1.upper()}"),
            STRIPE_BODY,
            id="upper-case-hex",
        ),
        pytest.param(
            STRIPE_TIMESTAMP,
            (f"t={STRIPE_TIMESTAMP}", f"v0={STRIPE_V1}"),
            STRIPE_BODY,
            id="only-v0-scheme",
        ),
        pytest.param(STRIPE_TIMESTAMP, ("v1=" + STRIPE_V1,), STRIPE_BODY, id="no-timestamp"),
        pytest.param(STRIPE_TIMESTAMP, ("",), STRIPE_BODY, id="empty-header"),
        pytest.param(
            STRIPE_TIMESTAMP,
            (f"t={STRIPE_TIMESTAMP}", "v1=" + "0" * 64, "v1=" + "1" * 64),
            STRIPE_BODY,
            id="several-v1-none-matching",
        ),
    ],
)
def test_stripe_refuses_tampered_webhooks(monkeypatch, now, parts, body):
    monkeypatch.setattr(time, "time", lambda: now)
    with pytest.raises(InvalidSignature):
        stripe_provider().parse_webhook(stripe_header(*parts), body)


def test_stripe_refuses_a_signature_made_with_another_secret():
    header = stripe.WebhookSignature.generate_signature_header(
        STRIPE_BODY.decode(), "whsec_someone_else", timestamp=int(time.time())
    )
    with pytest.raises(InvalidSignature):
        stripe_provider().parse_webhook({"stripe-signature": header}, STRIPE_BODY)


def test_stripe_refuses_every_webhook_when_no_secret_is_configured():
    provider = StripeProvider(
        secret_key="sk_test_x", webhook_secret="", api_base="http://127.0.0.1:9"
    )
    header = stripe.WebhookSignature.generate_signature_header(STRIPE_BODY.decode(), "")
    with pytest.raises(InvalidSignature):
        provider.parse_webhook({"stripe-signature": header}, STRIPE_BODY)


# --- Flutterwave and dummy ------------------------------------------------------------------

FLW_BODY = (
    b'{"event":"charge.completed","data":{"id":285959875,"tx_ref":"Links-616626414629",'
    b'"flw_ref":"PeterEkene/FLW270177170","amount":100,"currency":"NGN","status":"successful",'
    b'"processor_response":"Approved by Financial Institution",'
    b'"created_at":"2020-07-06T19:17:04.000Z"}}'
)


@pytest.mark.parametrize(
    "headers",
    [
        pytest.param({"verif-hash": "my-secret-hasx"}, id="one-byte-changed"),
        pytest.param({"verif-hash": "MY-SECRET-HASH"}, id="upper-case"),
        pytest.param({"verif-hash": ""}, id="empty-header"),
        pytest.param({}, id="missing-header"),
    ],
)
def test_flutterwave_refuses_a_wrong_verif_hash(headers):
    provider = FlutterwaveProvider(secret_key="FLWSECK_TEST-x", webhook_hash="my-secret-hash")
    with pytest.raises(InvalidSignature):
        provider.parse_webhook(headers, FLW_BODY)


def test_flutterwave_refuses_everything_when_no_hash_is_configured():
    provider = FlutterwaveProvider(secret_key="FLWSECK_TEST-x", webhook_hash="")
    with pytest.raises(InvalidSignature):
        provider.parse_webhook({"verif-hash": ""}, FLW_BODY)


def test_flutterwave_accepts_the_configured_hash_but_marks_the_event_untrusted():
    provider = FlutterwaveProvider(secret_key="FLWSECK_TEST-x", webhook_hash="my-secret-hash")
    [event] = provider.parse_webhook({"Verif-Hash": "my-secret-hash"}, FLW_BODY)
    assert (event.kind, event.reference, event.trusted) == (
        "charge_succeeded",
        "Links-616626414629",
        False,
    )


class DictStore(dict):
    def set(self, key, value, timeout=None):
        self[key] = value


def test_dummy_webhooks_are_hmac_sha256_signed():
    provider = DummyProvider(
        secret="s3cret", site_url="http://shop.test", store=DictStore(), enabled=True
    )
    webhook = provider.build_webhook("charge.succeeded", "ORD-1", Decimal("5.00"), "NGN")
    [event] = provider.parse_webhook(webhook.headers, webhook.body)
    assert (event.kind, event.reference) == ("charge_succeeded", "ORD-1")
    other = DummyProvider(
        secret="other", site_url="http://shop.test", store=DictStore(), enabled=True
    )
    with pytest.raises(InvalidSignature):
        other.parse_webhook(webhook.headers, webhook.body)
