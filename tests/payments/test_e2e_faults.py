"""Faults and races, end to end: gateway outages, a stopped worker, a broker outage, a
duplicate storm, a wrong amount, and payments that land after their stock locks expired."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import InventoryLock
from orders.models import Order, OrderEvent
from payments.models import Payment, Refund, WebhookEvent
from payments.services import redrive_stuck_webhooks
from payments.tasks import process_webhook_event
from shop.models import Product
from shop.platform_settings import set_setting
from tests.conftest import client_for
from tests.payments.helpers import order_state, place_order, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def _checkout(customer, gateway="paystack", **kwargs):
    client = client_for(customer)
    response, product = place_order(client, customer, method=gateway, **kwargs)
    return client, response, product


def _paid_checkout(e2e, customer):
    client, response, product = _checkout(customer)
    assert response.status_code == 201, response.content
    return (
        client,
        response.json()["id"],
        Payment.objects.get(order_id=response.json()["id"]),
        product,
    )


def test_initialize_timeout_keeps_the_order_and_pay_retries(e2e, customer):
    e2e.paystack.delay_next(
        1, seconds=3, path_contains="/transaction/initialize"
    )  # read timeout 2 s

    client, response, product = _checkout(customer)

    assert response.status_code == 502, response.content
    error = response.json()["error"]
    assert error["code"] == "payment_gateway_unavailable"
    order = Order.objects.get(pk=error["details"]["order_id"])
    assert order.state == "pending_payment"
    assert InventoryLock.objects.filter(owner=order.number).count() == 1
    assert Payment.objects.get(order=order).status == "failed"
    assert len(e2e.paystack.calls("POST", "/transaction/initialize")) == 1  # never re-sent

    retry = client.post(f"/api/orders/{order.pk}/pay/")

    assert retry.status_code == 201, retry.content
    payment = retry.json()["payment"]
    assert payment["attempt"] == 2
    assert payment["redirect_url"].startswith(e2e.paystack.base_url)
    e2e.paystack.pay(payment["reference"])
    wait_for(lambda: order_state(order.pk) == "paid", what="paid after retry")
    assert Product.objects.get(pk=product.pk).stock == 8


def test_verify_5xx_is_retried_then_surfaced(e2e, customer, backoff_sleeps):
    client, order_id, payment, _ = _paid_checkout(e2e, customer)
    e2e.paystack.fail_next(3, status=500, path_contains="/transaction/verify")

    response = client.get(f"/api/payments/verify/{payment.reference}/")

    assert response.status_code == 502
    assert response.json()["error"]["code"] == "payment_gateway_unavailable"
    assert len(e2e.paystack.calls("GET", "/transaction/verify")) == 3  # 1 + 2 retries
    assert len(backoff_sleeps) == 2
    assert order_state(order_id) == "pending_payment"
    # the gateway is back: the same call now heals a payment whose webhook was lost
    e2e.paystack.webhook_target = None
    e2e.paystack.pay(payment.reference)
    healed = client.get(f"/api/payments/verify/{payment.reference}/")
    assert healed.status_code == 200
    assert healed.json()["status"] == "succeeded"
    assert healed.json()["order_state"] == "paid"


def test_webhook_received_while_the_worker_is_down_is_processed_when_it_starts(
    e2e, customer, live_celery
):
    _, order_id, payment, _ = _paid_checkout(e2e, customer)
    live_celery.stop()

    e2e.paystack.pay(payment.reference)

    row = WebhookEvent.objects.get(payment__isnull=True, event_type="charge.success")
    assert row.processed_at is None
    assert order_state(order_id) == "pending_payment"
    live_celery.start()
    wait_for(lambda: order_state(order_id) == "paid", what="paid once the worker is back")
    row.refresh_from_db()
    assert row.processed_at is not None
    assert row.outcome == "paid"


def test_broker_outage_still_answers_200_and_the_redrive_processes_it(e2e, customer, monkeypatch):
    _, order_id, payment, _ = _paid_checkout(e2e, customer)

    def broker_down(*args, **kwargs):
        raise ConnectionError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    monkeypatch.setattr(process_webhook_event, "delay", broker_down)
    webhook = e2e.paystack.pay(payment.reference)
    assert e2e.paystack.deliveries[-1].status_code == 200
    assert e2e.paystack.deliveries[-1].webhook is webhook
    row = WebhookEvent.objects.get(event_type="charge.success", processed_at__isnull=True)
    monkeypatch.undo()

    assert redrive_stuck_webhooks(older_than=timedelta(minutes=5)) == 0  # too recent
    assert redrive_stuck_webhooks(older_than=timedelta(0)) == 1

    wait_for(lambda: order_state(order_id) == "paid", what="paid after the re-drive")
    row.refresh_from_db()
    assert row.outcome == "paid"


def test_duplicate_storm_is_stored_and_processed_once(e2e, customer):
    _, order_id, payment, product = _paid_checkout(e2e, customer)
    e2e.paystack.auto_deliver = False
    webhook = e2e.paystack.pay(payment.reference)

    deliveries = e2e.paystack.deliver(webhook, times=20, concurrently=True)

    assert [d.status_code for d in deliveries] == [200] * 20
    wait_for(lambda: order_state(order_id) == "paid", what="paid")
    row = WebhookEvent.objects.get(gateway="paystack", event_type="charge.success")
    wait_for(lambda: WebhookEvent.objects.get(pk=row.pk).processed_at, what="processed")
    assert WebhookEvent.objects.filter(gateway="paystack").count() == 1
    assert OrderEvent.objects.filter(order_id=order_id, kind="paid").count() == 1
    assert Product.objects.get(pk=product.pk).stock == 8


@pytest.mark.parametrize(
    "paid", [{"amount": 400000}, {"currency": "USD"}], ids=["amount", "currency"]
)
def test_amount_or_currency_mismatch_is_flagged_not_paid(e2e, customer, paid):
    _, order_id, payment, product = _paid_checkout(e2e, customer)

    e2e.paystack.pay(payment.reference, **paid)

    row = wait_for(
        lambda: WebhookEvent.objects.filter(processed_at__isnull=False).first(), what="processed"
    )
    assert row.outcome == "amount_mismatch"
    order = Order.objects.get(pk=order_id)
    assert order.state == "pending_payment"
    assert order.needs_attention is True
    assert order.attention_reason == "payment_amount_mismatch"
    assert Payment.objects.get(pk=payment.pk).status == "pending"
    assert Product.objects.get(pk=product.pk).stock == 10
    assert OrderEvent.objects.filter(order_id=order_id, kind="flagged").count() == 1


def _expire_locks(order_id: int) -> None:
    number = Order.objects.get(pk=order_id).number
    InventoryLock.objects.filter(owner=number).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )


def test_late_payment_reserves_again_when_stock_allows(e2e, customer):
    _, order_id, payment, product = _paid_checkout(e2e, customer)
    _expire_locks(order_id)

    e2e.paystack.pay(payment.reference)

    wait_for(lambda: order_state(order_id) == "paid", what="paid")
    order = Order.objects.get(pk=order_id)
    assert order.needs_attention is False
    assert order.stock_deducted is True
    assert Product.objects.get(pk=product.pk).stock == 8


def test_late_payment_after_stock_ran_out_is_paid_flagged_and_refunded(e2e, customer):
    set_setting("payments.auto_refund_when_out_of_stock", True)
    _, order_id, payment, product = _paid_checkout(e2e, customer)
    _expire_locks(order_id)
    Product.objects.filter(pk=product.pk).update(stock=1)  # sold elsewhere meanwhile

    e2e.paystack.pay(payment.reference)

    refund = wait_for(
        lambda: Refund.objects.filter(payment=payment, gateway_refund_id__gt="").first(),
        what="automatic refund sent to the gateway",
    )
    order = Order.objects.get(pk=order_id)
    assert order.state == "paid"
    assert order.needs_attention is True
    assert order.attention_reason == "out_of_stock_after_payment"
    assert order.stock_deducted is False
    assert Product.objects.get(pk=product.pk).stock == 1  # never oversold
    assert refund.amount == Decimal("5000.00")
    assert refund.status == "pending"
    e2e.paystack.settle_refund(int(refund.gateway_refund_id))
    wait_for(lambda: order_state(order_id) == "refunded", what="refunded")
    assert Refund.objects.get(pk=refund.pk).status == "processed"
