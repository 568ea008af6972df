"""Whole purchases through the API, the fake gateways, signed webhooks and a real Celery worker.

checkout → hosted URL → the fake gateway pays/declines/refunds/disputes → it posts a signed
webhook to the live server → the view stores it and queues it → the worker (a separate process
on real Redis) applies it. Assertions are on the database the worker wrote.
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from inventory.models import InventoryLock
from orders.models import Order, OrderEvent
from payments.errors import RefundHeldByDispute
from payments.models import Dispute, Payment, Refund, WebhookEvent
from payments.services import issue_refund
from shop.models import Product
from tests.conftest import client_for
from tests.payments.helpers import order_state, place_order, wait_for

pytestmark = pytest.mark.django_db(transaction=True)

GATEWAYS = ["paystack", "stripe", "flutterwave"]


def _checkout_and_pay(e2e, customer, gateway: str):
    client = client_for(customer)
    response, product = place_order(client, customer, method=gateway)
    assert response.status_code == 201, response.content
    body = response.json()
    payment = Payment.objects.get(order_id=body["id"])
    assert body["payment"]["redirect_url"] == payment.redirect_url
    assert body["payment"]["redirect_url"].startswith(e2e.by_name(gateway).base_url)
    assert body["payment"]["reference"] == payment.reference
    return client, body["id"], payment, product


def _pay(e2e, gateway: str, reference: str) -> None:
    e2e.by_name(gateway).pay(reference)


def _wait_state(order_id: int, state: str) -> None:
    wait_for(lambda: order_state(order_id) == state, what=f"order {order_id} → {state}")


@pytest.mark.parametrize("gateway", GATEWAYS)
def test_purchase_is_paid_by_signed_webhook_processed_by_the_worker(e2e, customer, gateway):
    _client, order_id, payment, product = _checkout_and_pay(e2e, customer, gateway)

    _pay(e2e, gateway, payment.reference)

    _wait_state(order_id, "paid")
    order = Order.objects.get(pk=order_id)
    assert order.payment_status == "paid"
    assert order.stock_deducted is True
    assert Product.objects.get(pk=product.pk).stock == 8
    assert not InventoryLock.objects.filter(owner=order.number).exists()
    assert Payment.objects.get(pk=payment.pk).status == "succeeded"
    paid_events = OrderEvent.objects.filter(order_id=order_id, kind="paid")
    assert paid_events.count() == 1
    assert paid_events.get().payload["reference"] == payment.reference
    rows = wait_for(
        lambda: list(WebhookEvent.objects.filter(processed_at__isnull=False, payment=payment)),
        what="processed webhook rows",
    )
    assert {r.outcome for r in rows} <= {"paid", "already_succeeded"}
    assert [r.outcome for r in rows].count("paid") == 1


@pytest.mark.parametrize("gateway", GATEWAYS)
def test_declined_payment_fails_the_order_and_releases_stock(e2e, customer, gateway):
    client, order_id, payment, product = _checkout_and_pay(e2e, customer, gateway)
    number = Order.objects.get(pk=order_id).number
    assert InventoryLock.objects.filter(owner=number).exists()

    e2e.by_name(gateway).decline(payment.reference)
    if gateway == "paystack":
        # Paystack sends no webhook for a failed charge: the customer's return triggers verify.
        response = client.get(f"/api/payments/verify/{payment.reference}/")
        assert response.status_code == 200
        assert response.json()["status"] == "failed"

    _wait_state(order_id, "payment_failed")
    assert Payment.objects.get(pk=payment.pk).status == "failed"
    assert not InventoryLock.objects.filter(owner=number).exists()
    assert Product.objects.get(pk=product.pk).stock == 10

    # pay again: a new attempt with a new reference, the stock held again
    retry = client.post(f"/api/orders/{order_id}/pay/")
    assert retry.status_code == 201, retry.content
    assert retry.json()["payment"]["reference"] != payment.reference
    assert retry.json()["payment"]["attempt"] == 2
    assert order_state(order_id) == "pending_payment"
    assert InventoryLock.objects.filter(owner=number).count() == 1


def _settle_refund(e2e, gateway: str, refund: Refund) -> None:
    fake = e2e.by_name(gateway)
    if gateway == "paystack":
        fake.settle_refund(int(refund.gateway_refund_id))
    elif gateway == "stripe":
        fake.settle_refund(refund.gateway_refund_id)
    # Flutterwave answers the refund call "completed": processed at once, no webhook needed.


@pytest.mark.parametrize("gateway", GATEWAYS)
def test_partial_refund_with_restock_then_full_refund(e2e, customer, staff_user, gateway):
    _client, order_id, payment, product = _checkout_and_pay(e2e, customer, gateway)
    _pay(e2e, gateway, payment.reference)
    _wait_state(order_id, "paid")

    first = issue_refund(
        order_id=order_id,
        amount=None,
        lines={product.pk: 1},
        restock=True,
        reason="One jar arrived broken",
        actor=staff_user,
    )
    assert first.amount == Decimal("2500.00")
    _settle_refund(e2e, gateway, first)
    _wait_state(order_id, "partially_refunded")
    order = Order.objects.get(pk=order_id)
    assert order.amount_refunded == Decimal("2500.00")
    assert Product.objects.get(pk=product.pk).stock == 9  # 10 - 2 sold + 1 restocked
    assert Refund.objects.get(pk=first.pk).status == "processed"

    rest = issue_refund(
        order_id=order_id,
        amount=None,
        lines=None,
        restock=False,
        reason="Goodwill",
        actor=staff_user,
    )
    assert rest.amount == Decimal("2500.00")
    _settle_refund(e2e, gateway, rest)
    _wait_state(order_id, "refunded")
    order = Order.objects.get(pk=order_id)
    assert order.amount_refunded == Decimal("5000.00")
    assert order.payment_status == "refunded"
    assert Product.objects.get(pk=product.pk).stock == 9


def _open_and_resolve_dispute(e2e, gateway: str, reference: str, *, won: bool, order_id: int):
    fake = e2e.by_name(gateway)
    dispute_id, _ = fake.open_dispute(reference)
    _wait_state(order_id, "disputed")
    dispute = Dispute.objects.get(gateway_dispute_id=str(dispute_id))
    assert dispute.status == "open"
    assert dispute.amount == Decimal("5000.00")
    with pytest.raises(RefundHeldByDispute):
        issue_refund(
            order_id=order_id, amount=None, lines=None, restock=False, reason="", actor=None
        )
    assert not Refund.objects.filter(payment__order_id=order_id).exists()
    if gateway == "paystack":
        fake.resolve_dispute(dispute_id, resolution="declined" if won else "merchant-accepted")
    else:
        fake.close_dispute(dispute_id, won=won)
    return dispute


@pytest.mark.parametrize("gateway", ["paystack", "stripe"])
@pytest.mark.parametrize("won", [True, False], ids=["won", "lost"])
def test_dispute_holds_refunds_and_resolves(e2e, customer, staff_user, gateway, won):
    _client, order_id, payment, _product = _checkout_and_pay(e2e, customer, gateway)
    _pay(e2e, gateway, payment.reference)
    _wait_state(order_id, "paid")
    if gateway == "stripe":  # the dispute names the PaymentIntent: it must be on the Payment
        wait_for(lambda: Payment.objects.get(pk=payment.pk).gateway_ids.get("payment_intent_id"))

    dispute = _open_and_resolve_dispute(e2e, gateway, payment.reference, won=won, order_id=order_id)

    _wait_state(order_id, "paid" if won else "refunded")
    assert Dispute.objects.get(pk=dispute.pk).status == ("won" if won else "lost")
    order = Order.objects.get(pk=order_id)
    assert order.payment_status == ("paid" if won else "refunded")


def test_stripe_success_events_in_reverse_order_pay_once(e2e, customer):
    _client, order_id, payment, product = _checkout_and_pay(e2e, customer, "stripe")
    e2e.stripe.auto_deliver = False
    e2e.stripe.pay(payment.reference)

    deliveries = e2e.stripe.release(reverse=True)  # payment_intent.succeeded arrives first

    assert [d.status_code for d in deliveries] == [200, 200]
    rows = wait_for(
        lambda: (
            WebhookEvent.objects.filter(payment=payment, processed_at__isnull=False).count() == 2
            and list(WebhookEvent.objects.filter(payment=payment).order_by("received_at"))
        ),
        what="both events processed",
    )
    assert [(r.event_type, r.outcome) for r in rows] == [
        ("payment_intent.succeeded", "paid"),
        ("checkout.session.completed", "already_succeeded"),
    ]
    assert order_state(order_id) == "paid"
    assert OrderEvent.objects.filter(order_id=order_id, kind="paid").count() == 1
    assert Product.objects.get(pk=product.pk).stock == 8
    assert set(Payment.objects.get(pk=payment.pk).gateway_ids) >= {
        "checkout_session_id",
        "payment_intent_id",
    }
