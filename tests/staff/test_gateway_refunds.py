"""Staff refunds and cancellations of gateway-paid orders go through the payments service."""

from decimal import Decimal

import pytest

from orders.models import Order
from payments.models import Refund
from shop.models import Product
from tests.conftest import client_for
from tests.payments.test_refunds import paid_paystack_order

pytestmark = pytest.mark.django_db


def test_finance_refund_of_a_paystack_order_waits_for_the_gateway(
    fake_paystack, customer_client, customer, finance_user
):
    order, _ = paid_paystack_order(fake_paystack, customer_client, customer)

    response = client_for(finance_user).post(
        f"/api/staff/orders/{order.pk}/refund/",
        {"amount": "1000.00", "reason": "damaged"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="staff-api-1",
    )

    assert response.status_code == 200
    body = response.json()
    remaining = order.total - Decimal("1000.00")
    assert (body["state"], body["amount_refunded"], body["refundable_balance"]) == (
        "paid",  # recorded on the order when the gateway's refund webhook arrives
        "0.00",
        str(remaining),
    )
    refund = Refund.objects.get(payment__order=order)
    assert (refund.status, refund.requested_by_id, refund.idempotency_key) == (
        "pending",
        finance_user.pk,
        "staff-api-1",
    )
    assert len(fake_paystack.calls("POST", "/refund")) == 1


def test_cancelling_a_paid_order_when_the_refund_answer_is_a_503(
    fake_paystack, customer_client, customer, finance_user
):
    order, product = paid_paystack_order(fake_paystack, customer_client, customer)
    stock_before = Product.objects.get(pk=product.pk).stock
    units = sum(order.items.values_list("quantity", flat=True))
    fake_paystack.fail_next(1, status=503, path_contains="/refund")

    response = client_for(finance_user).post(
        f"/api/staff/orders/{order.pk}/cancel/", {"reason": "out of stock"}, format="json"
    )

    # A 503 after the request was sent says nothing about whether Paystack refunded: the
    # cancellation stands, and the refund stays pending, its money held, until Paystack's
    # webhook or reconciliation tells. It can never be sent twice meanwhile.
    assert response.status_code == 200, response.content
    order = Order.objects.get(pk=order.pk)
    assert (order.state, order.payment_status, order.amount_refunded, order.refund_pending) == (
        "cancelled",
        "paid",
        Decimal("0.00"),
        order.total,
    )
    assert Product.objects.get(pk=product.pk).stock == stock_before + units
    refund = Refund.objects.get(payment__order=order)
    assert (refund.status, refund.outcome_unknown) == ("pending", True)
    assert order.needs_attention is False
    again = client_for(finance_user).post(
        f"/api/staff/orders/{order.pk}/refund/",
        {"amount": "1.00", "reason": "retry"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="retry-after-503",
    )
    assert (again.status_code, again.json()["error"]["code"]) == (
        409,
        "refund_exceeds_refundable",
    )
    assert len(fake_paystack.calls("POST", "/refund")) == 1


def test_cancelling_a_paid_order_while_the_gateway_cannot_be_reached(
    settings, fake_paystack, customer_client, customer, finance_user
):
    order, product = paid_paystack_order(fake_paystack, customer_client, customer)
    stock_before = Product.objects.get(pk=product.pk).stock
    units = sum(order.items.values_list("quantity", flat=True))
    settings.PAYSTACK_BASE_URL = "http://127.0.0.1:9"  # nothing listens: the call never left

    response = client_for(finance_user).post(
        f"/api/staff/orders/{order.pk}/cancel/", {"reason": "out of stock"}, format="json"
    )

    assert (response.status_code, response.json()["error"]["code"]) == (
        502,
        "payment_gateway_unavailable",
    )
    order = Order.objects.get(pk=order.pk)
    # The cancellation stands (stock back); the money did not move and staff are told.
    assert (order.state, order.payment_status, order.amount_refunded, order.refund_pending) == (
        "cancelled",
        "paid",
        Decimal("0.00"),
        Decimal("0.00"),
    )
    assert Product.objects.get(pk=product.pk).stock == stock_before + units
    assert (order.needs_attention, order.attention_reason) == (True, "refund_failed_after_cancel")
    assert Refund.objects.get(payment__order=order).status == "failed"
    assert list(order.events.order_by("-id").values_list("kind", flat=True)[:3]) == [
        "flagged",
        "refund_failed",
        "cancelled",
    ]
