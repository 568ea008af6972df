"""The webhook endpoint is counted on /metrics, rate limited per address (failing open) and
optionally restricted to the gateway's published addresses."""

import pytest
from django.test import override_settings

from orders.models import Order
from payments.models import Payment, WebhookEvent
from tests.observability.test_metrics import METRICS_TOKEN, scrape, value
from tests.payments.helpers import place_order
from tests.payments.test_payment_api import post_webhook
from tests.security.test_ratelimit import DOWN_REDIS

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_webhook(fake_paystack, customer, customer_client):
    response, _ = place_order(customer_client, customer, method="paystack")
    assert response.status_code == 201, response.content
    payment = Payment.objects.get(order_id=response.json()["id"])
    fake_paystack.webhook_target = None
    return payment, fake_paystack.pay(payment.reference)


@override_settings(METRICS_TOKEN=METRICS_TOKEN, METRICS_ALLOWED_IPS=[])
def test_received_duplicate_refused_and_processed_webhooks_are_counted(
    client, paid_webhook, django_capture_on_commit_callbacks
):
    payment, webhook = paid_webhook
    before = scrape(client)

    with django_capture_on_commit_callbacks(execute=True):
        assert post_webhook(webhook.body, webhook.headers).status_code == 200
    assert post_webhook(webhook.body, webhook.headers).status_code == 200  # duplicate
    assert post_webhook(webhook.body, {"x-paystack-signature": "0" * 128}).status_code == 401

    after = scrape(client)

    def grew(name, **labels):
        return value(after, name, **labels) - value(before, name, **labels)

    received = {"gateway": "paystack", "type": "charge.success"}
    assert grew("webhook_events_total", **received, result="received") == 1
    assert grew("webhook_events_total", **received, result="processed") == 1
    assert (
        grew("webhook_events_total", gateway="paystack", type="duplicate", result="duplicate") == 1
    )
    assert (
        grew("webhook_events_total", gateway="paystack", type="unverified", result="bad_signature")
        == 1
    )
    assert grew("payments_total", gateway="paystack", outcome="paid") == 1
    assert grew("webhook_processing_lag_seconds_count", gateway="paystack") == 1
    assert Order.objects.get(pk=payment.order_id).state == "paid"


@override_settings(THROTTLE_WEBHOOK_RATE="2/min")
def test_a_flood_from_one_address_is_throttled(paid_webhook, ratelimit_clock):
    _, webhook = paid_webhook
    answers = [post_webhook(webhook.body, webhook.headers).status_code for _ in range(3)]
    assert answers == [200, 200, 429]
    assert WebhookEvent.objects.count() == 1


@override_settings(THROTTLE_WEBHOOK_RATE="1/min", CACHES=DOWN_REDIS)
def test_with_redis_down_webhooks_are_still_accepted(paid_webhook):
    _, webhook = paid_webhook
    answers = [post_webhook(webhook.body, webhook.headers).status_code for _ in range(3)]
    assert answers == [200, 200, 200]  # fails open: never drop a payment notification
    assert WebhookEvent.objects.filter(signature_valid=True).count() == 1


@override_settings(WEBHOOK_IP_ALLOWLIST_ENABLED=True)
def test_with_the_allow_list_on_only_the_gateways_addresses_may_post(paid_webhook):
    _, webhook = paid_webhook
    refused = post_webhook(webhook.body, webhook.headers)  # the test client is 127.0.0.1
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "webhook_source_not_allowed"
    assert WebhookEvent.objects.count() == 0
