"""The webhook route as gateways call it, over real HTTP against the live server: both slash
forms, the 256 KB cap, refused bodies kept as a bounded prefix with length and hash (then
purged), and every stored body redacted — no authorization code, card or customer data."""

from __future__ import annotations

import hashlib
import json
from io import BytesIO, StringIO
from typing import Any

import pytest
import requests
from django.core.handlers.asgi import ASGIRequest
from django.core.management import call_command
from django.test import Client

from orders.models import Order
from payments import api
from payments.models import Payment, WebhookEvent
from payments.tasks import purge_webhook_events
from tests.ops import payment_builders as build
from tests.payments.helpers import place_order

pytestmark = pytest.mark.django_db(transaction=True)

CAP = 262144  # WEBHOOK_MAX_BODY_BYTES' default: 256 KB


def post(url: str, body: bytes, headers: dict[str, str]) -> requests.Response:
    """One delivery as a gateway makes it: a POST that follows no redirect."""
    return requests.post(url, data=body, headers=headers, timeout=10, allow_redirects=False)


@pytest.fixture
def gateway(request, customer, customer_client):
    """A fake gateway (by name) with an order of ours pending payment there."""
    fake = request.getfixturevalue(f"fake_{request.param}")
    fake.webhook_target = None  # the test posts the webhooks itself
    response, _product = place_order(customer_client, customer, method=request.param)
    assert response.status_code == 201, response.content
    fake.payment = Payment.objects.get(order_id=response.json()["id"])
    return fake


def paid_webhook(fake) -> Any:
    webhooks = fake.pay(fake.payment.reference)
    return webhooks[-1] if isinstance(webhooks, list) else webhooks  # Stripe sends two


# --- 1. with or without the trailing slash -----------------------------------------------------
@pytest.mark.parametrize("gateway", ["paystack", "stripe", "flutterwave"], indirect=True)
@pytest.mark.parametrize("slash", ["", "/"], ids=["without-slash", "with-slash"])
def test_a_gateway_may_post_with_or_without_the_trailing_slash(live_server, gateway, slash):
    webhook = paid_webhook(gateway)
    url = f"{live_server.url}/api/webhooks/{gateway.name}{slash}"

    response = post(url, webhook.body, webhook.headers)

    assert (response.status_code, response.json()) == (200, {"received": 1, "duplicates": 0})
    assert Order.objects.get(pk=gateway.payment.order_id).state == "paid"


@pytest.mark.parametrize("slash", ["", "/"], ids=["without-slash", "with-slash"])
def test_a_badly_signed_post_without_the_slash_is_refused_like_with_it(
    live_server, fake_paystack, slash
):
    response = post(f"{live_server.url}/api/webhooks/paystack{slash}", b"{}", {})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"


# --- 2. 256 KB at most --------------------------------------------------------------------------
@pytest.mark.parametrize("slash", ["", "/"], ids=["without-slash", "with-slash"])
@pytest.mark.parametrize("size", [CAP + 1, 1_500_000], ids=["just-over", "1.5MB"])
def test_a_body_over_256_kb_answers_413_and_stores_nothing(live_server, fake_paystack, slash, size):
    body = b'{"event":"charge.success","data":{"padding":"' + b"x" * size + b'"}}'

    response = post(
        f"{live_server.url}/api/webhooks/paystack{slash}", body, fake_paystack.signed_headers(body)
    )

    assert response.status_code == 413
    assert response.json()["error"] == {
        "code": "payload_too_large",
        "message": "The request body is too large.",
        "details": {"max_bytes": CAP},
    }
    assert not WebhookEvent.objects.exists()


class Unreadable:
    """A request body that must not be read."""

    def read(self, *args) -> bytes:
        raise AssertionError("the body was read")

    readline = read


@pytest.mark.parametrize("path", ["/api/webhooks/stripe", "/api/webhooks/stripe/"])
def test_an_oversized_content_length_is_refused_before_the_body_is_read(path):
    environ: dict[str, Any] = {"CONTENT_LENGTH": str(10**9), "wsgi.input": Unreadable()}
    response = Client().generic("POST", path, content_type="application/json", **environ)

    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"


def test_a_body_sent_without_a_length_is_measured_when_read(fake_paystack):
    # Under ASGI a chunked body reaches the view with no Content-Length at all.
    body = b'{"event":"charge.success","padding":"' + b"x" * CAP + b'"}'
    headers = [(b"content-type", b"application/json")] + [
        (name.lower().encode(), value.encode())
        for name, value in fake_paystack.signed_headers(body).items()
        if name.lower() != "content-type"
    ]
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/webhooks/paystack",
        "query_string": b"",
        "headers": headers,
        "client": ("127.0.0.1", 5000),
        "server": ("testserver", 80),
    }
    request = ASGIRequest(scope, BytesIO(body))

    response = api.WebhookWithoutSlashApi.as_view()(request, gateway="paystack")

    assert response.status_code == 413
    assert response.data["error"]["code"] == "payload_too_large"
    assert not WebhookEvent.objects.exists()


def test_a_body_of_exactly_256_kb_is_read_and_judged_by_its_signature(live_server, fake_paystack):
    body = b"x" * CAP

    response = post(f"{live_server.url}/api/webhooks/paystack", body, {"x-paystack-signature": "0"})

    assert response.status_code == 401
    row = WebhookEvent.objects.get()
    assert (row.signature_valid, row.body_length) == (False, CAP)


# --- 3. refused bodies: a bounded prefix, its length and SHA-256, purged after a while --------
def test_a_refused_card_payload_is_kept_redacted_with_its_length_and_hash(
    live_server, fake_paystack, customer, customer_client
):
    response, _ = place_order(customer_client, customer, method="paystack")
    payment = Payment.objects.get(order_id=response.json()["id"])
    fake_paystack.webhook_target = None
    webhook = fake_paystack.pay(payment.reference)  # authorization code, card, customer, IP

    refused = post(
        f"{live_server.url}/api/webhooks/paystack", webhook.body, {"x-paystack-signature": "0"}
    )

    assert refused.status_code == 401
    row = WebhookEvent.objects.get()
    assert (row.signature_valid, row.processed_at) == (False, None)
    assert (row.body_length, row.body_sha256) == (
        len(webhook.body),
        hashlib.sha256(webhook.body).hexdigest(),
    )
    stored = json.loads(row.raw_body)
    assert stored["data"]["reference"] == payment.reference  # what it claimed, for the audit
    assert_nothing_sensitive(row, customer.email)
    assert Order.objects.get(pk=payment.order_id).state == "pending_payment"


def test_a_large_refused_text_body_keeps_4_kb_without_card_numbers(live_server, fake_flutterwave):
    body = ("card=4111 1111 1111 1111&exp=12/30&note=" + "é" * 100_000).encode()

    response = post(f"{live_server.url}/api/webhooks/flutterwave/", body, {"verif-hash": "guess"})

    assert response.status_code == 401
    row = WebhookEvent.objects.get()
    assert len(row.raw_body.encode()) <= 4096
    assert row.raw_body.startswith("card=[redacted]&exp=12/30&note=éé")
    assert "4111" not in row.raw_body
    assert (row.body_length, row.body_sha256) == (len(body), hashlib.sha256(body).hexdigest())


def test_refused_rows_are_purged_after_the_retention_period_and_processed_ones_kept_longer():
    build.webhook_row(days_ago=8, signature_valid=False, processed=False, key="r8")
    refused_recent = build.webhook_row(days_ago=6, signature_valid=False, processed=False, key="r6")
    processed = build.webhook_row(days_ago=8, key="p8")
    stuck = build.webhook_row(days_ago=40, processed=False, key="stuck")

    assert purge_webhook_events() == 1  # the beat task, run here

    assert set(WebhookEvent.objects.values_list("pk", flat=True)) == {
        refused_recent.pk,
        processed.pk,
        stuck.pk,
    }


def test_the_purge_command_reports_refused_rows_and_follows_the_setting():
    from shop.platform_settings import set_setting

    build.webhook_row(days_ago=3, signature_valid=False, processed=False, key="r3")
    build.webhook_row(days_ago=1, signature_valid=False, processed=False, key="r1")
    set_setting("ops.purge_refused_webhooks_after_days", 2)

    dry = StringIO()
    call_command("purge_webhook_events", "--dry-run", stdout=dry)
    out = StringIO()
    call_command("purge_webhook_events", stdout=out)

    assert dry.getvalue() == (
        "0 processed webhook event(s) older than 30d would be deleted.\n"
        "1 refused webhook event(s) older than 2d would be deleted.\n"
    )
    assert out.getvalue() == (
        "0 processed webhook event(s) older than 30d deleted.\n"
        "1 refused webhook event(s) older than 2d deleted.\n"
    )
    assert list(WebhookEvent.objects.values_list("event_key", flat=True)) == ["r1"]


# --- 4. stored bodies are redacted -------------------------------------------------------------
SENSITIVE_KEYS = {
    "authorization",
    "authorization_code",
    "signature",
    "bin",
    "last4",
    "exp_month",
    "exp_year",
    "card",
    "card_type",
    "first_6digits",
    "last_4digits",
    "expiry",
    "ip",
    "ip_address",
    "customer",
    "customer_email",
    "email",
    "billing_details",
    "payment_method_details",
    "last_payment_error",
}
# The card, customer and address values the fakes and the samples below send.
SENSITIVE_VALUES = {
    "AUTH_fake",
    "SIG_fake",
    "CUS_fake",
    "408408",
    "4081",
    "553188",
    "2950",
    "09/32",
    "2030",
    "2034",
    "4242",
    "197.210.54.33",
    "197.210.64.96",
    "1 Rd",
}


def keys_of(value: Any) -> set[str]:
    if isinstance(value, dict):
        return set(value) | {k for v in value.values() for k in keys_of(v)}
    if isinstance(value, list):
        return {k for v in value for k in keys_of(v)}
    return set()


def leaves_of(value: Any) -> set[str]:
    if isinstance(value, dict):
        return {leaf for v in value.values() for leaf in leaves_of(v)}
    if isinstance(value, list):
        return {leaf for v in value for leaf in leaves_of(v)}
    return {str(value)}


def delivering_to(live_server, fake, customer, client, *, slash: str) -> Payment:
    """An order pending payment at ``fake``, which delivers its webhooks to the live server."""
    response, _ = place_order(client, customer, method=fake.name)
    fake.webhook_target = f"{live_server.url}/api/webhooks/{fake.name}{slash}"
    return Payment.objects.get(order_id=response.json()["id"])


def processed_rows() -> list[WebhookEvent]:
    return list(WebhookEvent.objects.filter(processed_at__isnull=False))


def assert_nothing_sensitive(row: WebhookEvent, email: str) -> None:
    stored = json.loads(row.raw_body)
    assert keys_of(stored) & SENSITIVE_KEYS == set(), row.event_type
    leaves = leaves_of(stored) | leaves_of(row.event)
    assert leaves & (SENSITIVE_VALUES | {email}) == set(), row.event_type
    assert email not in row.raw_body
    assert set(row.headers) <= {
        "content-type",
        "user-agent",
        "x-paystack-signature",
        "stripe-signature",
        "verif-hash",
    }


def test_stored_paystack_charge_refund_and_dispute_bodies_keep_no_card_or_customer_data(
    live_server, fake_paystack, customer, customer_client
):
    payment = delivering_to(live_server, fake_paystack, customer, customer_client, slash="")
    fake_paystack.pay(payment.reference)
    refund = requests.post(
        f"{fake_paystack.base_url}/refund",
        json={"transaction": payment.reference, "amount": 100000},
        headers={"Authorization": f"Bearer {fake_paystack.secret_key}"},
        timeout=5,
    ).json()["data"]  # a refund made in Paystack's dashboard
    fake_paystack.settle_refund(refund["id"])
    fake_paystack.open_dispute(payment.reference)

    rows = processed_rows()  # each delivery is answered once processed (tasks run inline)
    assert sorted(r.event_type for r in rows) == [
        "charge.dispute.create",
        "charge.success",
        "refund.processed",
    ]
    for row in rows:
        assert_nothing_sensitive(row, customer.email)
        assert (
            row.body_sha256
            == hashlib.sha256(
                next(w.body for w in fake_paystack.outbox if w.event_type == row.event_type)
            ).hexdigest()
        )
    charge = next(json.loads(r.raw_body) for r in rows if r.event_type == "charge.success")
    assert charge["data"]["reference"] == payment.reference  # identifiers stay for the audit
    assert charge["data"]["amount"] == 500000


def test_stored_stripe_bodies_keep_no_card_billing_or_error_details(
    live_server, fake_stripe, customer, customer_client
):
    payment = delivering_to(live_server, fake_stripe, customer, customer_client, slash="/")
    fake_stripe.decline(payment.reference)  # last_payment_error
    fake_stripe.pay(payment.reference)
    intent_id = fake_stripe.session_for(payment.reference)["payment_intent"]
    # Stripe's charge events carry the card and the billing details: an unknown type to us.
    fake_stripe.emit(
        "charge.succeeded",
        {
            "id": "evt_charge_1",
            "object": "event",
            "type": "charge.succeeded",
            "created": 1767225600,
            "data": {
                "object": {
                    "id": "ch_1",
                    "object": "charge",
                    "payment_intent": intent_id,
                    "billing_details": {"email": customer.email, "address": {"line1": "1 Rd"}},
                    "payment_method_details": {
                        "card": {"brand": "visa", "last4": "4242", "exp_year": 2034}
                    },
                    "receipt_email": customer.email,
                }
            },
        },
    )

    rows = processed_rows()
    assert len(rows) == 4
    for row in rows:
        assert_nothing_sensitive(row, customer.email)
    assert Order.objects.get(pk=payment.order_id).state == "paid"


def test_stored_flutterwave_bodies_keep_no_card_customer_or_ip(
    live_server, fake_flutterwave, customer, customer_client
):
    payment = delivering_to(live_server, fake_flutterwave, customer, customer_client, slash="")
    fake_flutterwave.pay(payment.reference)

    [row] = processed_rows()
    assert_nothing_sensitive(row, customer.email)
    assert json.loads(row.raw_body)["data"]["tx_ref"] == payment.reference
    assert Order.objects.get(pk=payment.order_id).state == "paid"


def test_rows_stored_before_redaction_are_redacted_by_the_migration():
    from django.db import connection
    from django.db.migrations.executor import MigrationExecutor

    before = [("payments", "0002_webhook_event_body_digest_and_dead_letters")]
    executor = MigrationExecutor(connection)
    executor.migrate(before)
    old_model = executor.loader.project_state(before).apps.get_model("payments", "WebhookEvent")
    card_body = json.dumps(
        {
            "event": "charge.success",
            "data": {
                "reference": "ORD-OLD-1",
                "ip_address": "197.210.54.33",
                "authorization": {"authorization_code": "AUTH_fake", "bin": "408408"},
                "customer": {"email": "old@example.com"},
            },
        }
    )
    huge_refused = "pan 4111111111111111 " + "z" * 1_500_000
    signed = old_model.objects.create(
        gateway="paystack", event_key="old-1", raw_body=card_body, signature_valid=True
    )
    refused = old_model.objects.create(
        gateway="paystack", event_key="old-2", raw_body=huge_refused, signature_valid=False
    )

    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes("payments"))

    signed_row, refused_row = (WebhookEvent.objects.get(pk=r.pk) for r in (signed, refused))
    assert json.loads(signed_row.raw_body) == {
        "event": "charge.success",
        "data": {"reference": "ORD-OLD-1"},
    }
    assert signed_row.body_sha256 == hashlib.sha256(card_body.encode()).hexdigest()
    assert refused_row.raw_body == ("pan [redacted] " + "z" * 5000)[:4096]
    assert refused_row.body_length == len(huge_refused)
