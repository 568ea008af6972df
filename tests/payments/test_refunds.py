"""issue_refund: limits, manual refunds of offline methods, concurrency."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from orders.errors import IdempotencyKeyReused
from orders.models import Order, OrderEvent
from payments.errors import RefundExceedsRefundable, RefundNotAllowed
from payments.models import Refund
from payments.services import issue_refund
from shop.models import Product
from tests.factories import OrderFactory, OrderItemFactory, ProductFactory, StaffFactory


def paid_bank_transfer_order(product=None):
    product = product or ProductFactory(stock=8)
    order = OrderFactory(
        state="paid",
        payment_status="paid",
        payment_method="bank_transfer",
        stock_deducted=True,
    )
    OrderItemFactory(order=order, product=product, quantity=2, unit_price=Decimal("2500.00"))
    return order, product


@pytest.mark.django_db
def test_manual_partial_refund_with_restock_is_processed_at_once():
    order, product = paid_bank_transfer_order()
    staff = StaffFactory()

    refund = issue_refund(
        order_id=order.pk,
        amount=None,
        lines={product.pk: 1},
        restock=True,
        reason="Broken jar",
        actor=staff,
    )

    assert (refund.status, refund.manual, refund.amount) == ("processed", True, Decimal("2500.00"))
    assert refund.requested_by == staff
    order.refresh_from_db()
    assert (order.state, order.amount_refunded) == ("partially_refunded", Decimal("2500.00"))
    assert Product.objects.get(pk=product.pk).stock == 9
    event = OrderEvent.objects.get(order=order, kind="partially_refunded")
    assert event.payload["refund_id"] == refund.pk
    assert event.payload["restocked"][0]["quantity"] == 1


@pytest.mark.django_db
@pytest.mark.parametrize("amount", [Decimal("5000.01"), Decimal("0"), Decimal("-1")])
def test_refund_beyond_what_was_paid_is_refused_and_changes_nothing(amount):
    order, _product = paid_bank_transfer_order()

    with pytest.raises(RefundExceedsRefundable):
        issue_refund(
            order_id=order.pk, amount=amount, lines=None, restock=False, reason="", actor=None
        )

    order.refresh_from_db()
    assert (order.state, order.amount_refunded) == ("paid", Decimal("0.00"))
    assert not Refund.objects.exists()


@pytest.mark.django_db
def test_refund_of_an_unpaid_order_is_refused():
    order = OrderFactory(state="pending_payment", payment_status="pending")

    with pytest.raises(RefundNotAllowed):
        issue_refund(
            order_id=order.pk, amount=None, lines=None, restock=False, reason="", actor=None
        )
    assert not Refund.objects.exists()


@pytest.mark.django_db(transaction=True)
@pytest.mark.usefixtures("database_route")  # straight, then through PgBouncer
def test_concurrent_refunds_never_exceed_what_was_paid():
    order, _ = paid_bank_transfer_order()
    threads_count = 6
    barrier = threading.Barrier(threads_count)
    results: list[str] = []
    lock = threading.Lock()

    def refund_2000() -> None:
        try:
            barrier.wait(timeout=10)
            issue_refund(
                order_id=order.pk,
                amount=Decimal("2000.00"),
                lines=None,
                restock=False,
                reason="race",
                actor=None,
            )
            outcome = "ok"
        except RefundExceedsRefundable:
            outcome = "refused"
        finally:
            connection.close()
        with lock:
            results.append(outcome)

    threads = [threading.Thread(target=refund_2000) for _ in range(threads_count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(results) == ["ok", "ok"] + ["refused"] * 4
    order = Order.objects.get(pk=order.pk)
    assert order.amount_refunded == Decimal("4000.00")
    assert order.state == "partially_refunded"
    assert Refund.objects.filter(status="processed").count() == 2


def paid_paystack_order(fake_paystack, customer_client, customer):
    from payments.gateways import get_provider
    from payments.models import Payment
    from payments.services import apply_gateway_event, event_from_verify
    from tests.payments.helpers import place_order

    response, product = place_order(customer_client, customer, method="paystack")
    payment = Payment.objects.get(order_id=response.json()["id"])
    fake_paystack.webhook_target = None
    fake_paystack.pay(payment.reference)
    result = get_provider("paystack").verify(payment.reference)
    apply_gateway_event(event=event_from_verify("paystack", result), payment=payment)
    return Order.objects.get(pk=payment.order_id), product


@pytest.mark.django_db
def test_pending_gateway_refunds_count_against_what_is_left(
    fake_paystack, customer_client, customer
):
    order, _ = paid_paystack_order(fake_paystack, customer_client, customer)
    first = issue_refund(
        order_id=order.pk,
        amount=Decimal("3000.00"),
        lines=None,
        restock=False,
        reason="a",
        actor=None,
    )
    assert first.status == "pending"  # Paystack queues refunds; the webhook settles them

    with pytest.raises(RefundExceedsRefundable) as refused:
        issue_refund(
            order_id=order.pk,
            amount=Decimal("3000.00"),
            lines=None,
            restock=False,
            reason="b",
            actor=None,
        )

    assert refused.value.details == {"amount": "3000.00", "refundable": "2000.00"}
    assert Refund.objects.count() == 1
    assert len(fake_paystack.calls("POST", "/refund")) == 1
    sent = fake_paystack.calls("POST", "/refund")[0].json()
    assert (sent["transaction"], sent["amount"]) == (first.payment.reference, 300000)


@pytest.mark.django_db
def test_a_gateway_that_cannot_be_reached_fails_the_refund_and_flags_the_order(
    settings, fake_paystack, customer_client, customer
):
    from payments.providers.errors import GatewayUnavailable

    order, _ = paid_paystack_order(fake_paystack, customer_client, customer)
    settings.PAYSTACK_BASE_URL = "http://127.0.0.1:9"  # nothing listens: the call never left

    with pytest.raises(GatewayUnavailable) as refused:
        issue_refund(
            order_id=order.pk, amount=None, lines=None, restock=False, reason="x", actor=None
        )

    refund = Refund.objects.get()
    assert refused.value.details["refund_id"] == refund.pk
    assert (refund.status, refund.failure_reason[:26]) == ("failed", "payment_gateway_unavailabl")
    order.refresh_from_db()
    assert (order.state, order.amount_refunded, order.refund_pending) == (
        "paid",
        Decimal("0.00"),
        Decimal("0.00"),
    )
    assert (order.needs_attention, order.attention_reason) == (True, "refund_failed")


@pytest.mark.django_db
def test_a_repeated_idempotency_key_returns_the_first_refund(
    fake_paystack, customer_client, customer, other_client, other_customer
):
    order, _ = paid_paystack_order(fake_paystack, customer_client, customer)
    kwargs = {
        "order_id": order.pk,
        "amount": Decimal("1000.00"),
        "lines": None,
        "restock": False,
        "reason": "double click",
        "actor": None,
        "idempotency_key": "staff-form-7f3a",
    }

    first = issue_refund(**kwargs)
    again = issue_refund(**kwargs)

    assert again.pk == first.pk
    assert Refund.objects.count() == 1
    assert len(fake_paystack.calls("POST", "/refund")) == 1
    other, _ = paid_paystack_order(fake_paystack, other_client, other_customer)
    with pytest.raises(IdempotencyKeyReused):
        issue_refund(**{**kwargs, "order_id": other.pk})
