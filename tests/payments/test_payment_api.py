"""The payment endpoints in one process (tasks eager): webhooks' signature handling, pay,
verify ownership, the payment window, the dummy hosted page, redaction of stored answers."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from decimal import Decimal

import pytest
from django.test import RequestFactory
from django.utils import timezone
from rest_framework.test import APIClient

from inventory.models import InventoryLock
from orders.models import Order
from payments import views
from payments.models import Payment, WebhookEvent
from payments.redaction import redact
from shop.platform_settings import set_setting
from tests.conftest import client_for
from tests.fakes.paystack import paystack_signature
from tests.payments.helpers import place_dummy_order, place_order

pytestmark = pytest.mark.django_db


@pytest.fixture
def paystack_order(fake_paystack, customer, customer_client):
    response, product = place_order(customer_client, customer, method="paystack")
    assert response.status_code == 201, response.content
    order = Order.objects.get(pk=response.json()["id"])
    return order, Payment.objects.get(order=order), product


def post_webhook(body: bytes, headers: dict[str, str], gateway: str = "paystack"):
    meta = {
        f"HTTP_{k.upper().replace('-', '_')}": v
        for k, v in headers.items()
        if k.lower() != "content-type"
    }
    return APIClient().post(
        f"/api/webhooks/{gateway}/", data=body, content_type="application/json", **meta
    )


def test_checkout_with_a_gateway_answers_the_hosted_page(paystack_order, fake_paystack):
    _order, payment, _ = paystack_order
    assert payment.status == "pending"
    assert payment.redirect_url.startswith(f"{fake_paystack.base_url}/checkout/")
    assert payment.gateway_ids == {"access_code": payment.gateway_ids["access_code"]}
    sent = fake_paystack.calls("POST", "/transaction/initialize")[0].json()
    assert (sent["reference"], sent["amount"]) == (payment.reference, 500000)
    assert sent["callback_url"].endswith(f"/payments/return/?reference={payment.reference}")


@pytest.mark.parametrize(
    "signature",
    [None, "", "0" * 128, "tampered"],
    ids=["missing", "empty", "wrong", "other-body"],
)
def test_bad_signature_is_401_stored_for_audit_and_never_processed(
    paystack_order, fake_paystack, signature, django_capture_on_commit_callbacks
):
    order, payment, _ = paystack_order
    fake_paystack.webhook_target = None
    webhook = fake_paystack.pay(payment.reference)
    headers = {}
    if signature == "tampered":
        headers["x-paystack-signature"] = paystack_signature(b"{}", fake_paystack.secret_key)
    elif signature is not None:
        headers["x-paystack-signature"] = signature

    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(webhook.body, headers)

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    row = WebhookEvent.objects.get()
    assert (row.signature_valid, row.processed_at, row.body_length) == (
        False,
        None,
        len(webhook.body),
    )
    assert json.loads(row.raw_body)["data"]["reference"] == payment.reference  # redacted copy
    assert "authorization" not in json.loads(row.raw_body)["data"]
    order.refresh_from_db()
    assert order.state == "pending_payment"


def test_valid_webhook_is_stored_processed_and_a_duplicate_is_ignored(
    paystack_order, fake_paystack, django_capture_on_commit_callbacks
):
    order, payment, _ = paystack_order
    fake_paystack.webhook_target = None
    webhook = fake_paystack.pay(payment.reference)

    with django_capture_on_commit_callbacks(execute=True):
        first = post_webhook(webhook.body, webhook.headers)
    with django_capture_on_commit_callbacks(execute=True) as second_callbacks:
        second = post_webhook(webhook.body, webhook.headers)

    assert (first.status_code, first.json()) == (200, {"received": 1, "duplicates": 0})
    assert (second.status_code, second.json()) == (200, {"received": 0, "duplicates": 1})
    assert second_callbacks == []  # nothing queued for the duplicate
    row = WebhookEvent.objects.get()
    assert (row.signature_valid, row.outcome, row.attempts, row.payment) == (
        True,
        "paid",
        1,
        payment,
    )
    assert row.headers["x-paystack-signature"] == webhook.headers["x-paystack-signature"]
    order.refresh_from_db()
    assert order.state == "paid"


def test_unknown_event_type_is_stored_and_processed_as_a_no_op(
    fake_paystack, django_capture_on_commit_callbacks
):
    body = json.dumps({"event": "transfer.success", "data": {"reference": "TRF-1"}}).encode()

    with django_capture_on_commit_callbacks(execute=True):
        response = post_webhook(body, fake_paystack.signed_headers(body))

    assert response.status_code == 200
    row = WebhookEvent.objects.get()
    assert (row.kind, row.outcome) == ("unknown", "ignored")
    assert row.processed_at is not None


def test_unknown_gateway_is_404(api_client):
    response = api_client.post(
        "/api/webhooks/bitcoin/", data=b"{}", content_type="application/json"
    )
    assert response.status_code == 404
    assert not WebhookEvent.objects.exists()


def test_starting_payment_extends_the_locks_once_to_the_payment_window(
    fake_paystack, customer, customer_client
):
    set_setting("checkout.lock_ttl_minutes", 5)
    set_setting("checkout.payment_window_minutes", 45)
    before = timezone.now()

    response, _ = place_order(customer_client, customer, method="paystack")

    order = Order.objects.get(pk=response.json()["id"])
    lock = InventoryLock.objects.get(owner=order.number)
    assert (
        before + timedelta(minutes=45) <= lock.expires_at <= timezone.now() + timedelta(minutes=45)
    )
    assert "payment_window_extended" in order.metadata


def test_pay_refuses_another_customers_order_and_a_paid_order(paystack_order, other_client):
    order, _, _ = paystack_order
    assert other_client.post(f"/api/orders/{order.pk}/pay/").status_code == 404

    Order.objects.filter(pk=order.pk).update(state="paid", payment_status="paid")
    response = client_for(order.customer).post(f"/api/orders/{order.pk}/pay/")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "order_not_payable"
    assert Payment.objects.filter(order=order).count() == 1


def test_verify_is_only_for_the_customers_own_payment(paystack_order, other_client):
    _, payment, _ = paystack_order
    response = other_client.get(f"/api/payments/verify/{payment.reference}/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "payment_not_found"


def test_dummy_hosted_page_pays_through_the_signed_webhook(
    settings, customer, customer_client, django_capture_on_commit_callbacks
):
    response, order = place_dummy_order(settings, customer_client, customer)
    payment = Payment.objects.get(order=order)
    assert response.json()["payment"]["redirect_url"].endswith(
        f"/payments/dummy/{payment.reference}/"
    )

    page = views.dummy_hosted_page(RequestFactory().get("/"), reference=payment.reference)
    assert page.status_code == 200
    assert b"5000.00 NGN" in page.content

    with django_capture_on_commit_callbacks(execute=True):
        done = views.dummy_hosted_page(
            RequestFactory().post("/", {"outcome": "pay"}), reference=payment.reference
        )

    assert done.status_code == 302
    assert Order.objects.get(pk=payment.order_id).state == "paid"
    row = WebhookEvent.objects.get()
    assert (row.gateway, row.signature_valid, row.outcome) == ("dummy", True, "paid")


def test_dummy_page_does_not_exist_without_debug(settings):
    settings.DEBUG = False
    from django.http import Http404

    with pytest.raises(Http404):
        views.dummy_hosted_page(RequestFactory().get("/"), reference="ORD-1-1-abc")


def test_stored_gateway_answers_keep_no_card_data():
    answer = {
        "status": True,
        "data": {
            "reference": "ORD-1-1-abc",
            "amount": 500000,
            "gateway_response": "Approved 4084 0840 8408 4081",
            "authorization": {
                "authorization_code": "AUTH_8dfhjjdt",
                "bin": "408408",
                "last4": "4081",
                "exp_month": "12",
                "card_type": "visa",
                "signature": "SIG_idyuhgd87dUYSHO92D",
            },
            "card": {"number": "4084084084084081", "cvv": "408"},
            "customer": {"email": "ada@example.com"},
            "pan": 4084084084084081,
        },
    }

    kept = redact("paystack", answer)

    assert kept == {
        "status": True,
        "data": {
            "reference": "ORD-1-1-abc",
            "amount": 500000,
            "gateway_response": "Approved [redacted]",
        },
    }
    assert "4081" not in json.dumps(kept)
    assert redact("stripe", {"id": "pi_1", "amount": Decimal("10.00")}) == {
        "id": "pi_1",
        "amount": "10.00",
    }


def test_seed_demo_offers_the_dummy_gateway_only_with_debug(settings):
    from django.core.management import call_command

    from shop.platform_settings import get_setting, invalidate_cache

    settings.DEBUG = False
    call_command("seed_demo", stdout=io.StringIO())
    invalidate_cache()
    assert "dummy" not in get_setting("checkout.allowed_payment_methods")

    settings.DEBUG = True
    call_command("seed_demo", stdout=io.StringIO())
    invalidate_cache()
    assert "dummy" in get_setting("checkout.allowed_payment_methods")
