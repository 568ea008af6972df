"""Money without an order to pay for (paid after cancellation, paid twice, a late bank
transfer) is kept, flagged and refunded by staff through the usual refund endpoint and admin
action, booked against its own payment; a dashboard refund of it is booked by its webhook."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backoffice import services as staff
from orders.models import Order
from orders.services import cancel_order
from payments.models import Payment, Refund
from payments.services import start_payment
from tests.factories import StaffFactory
from tests.payments.helpers import place_order
from tests.payments.money import deliver, paid_order, staff_refund

pytestmark = pytest.mark.django_db


@pytest.fixture
def finance(db):
    return StaffFactory(is_superuser=True)


def cancelled_then_paid(fake_paystack, client, customer, capture):
    """The customer cancels while the Paystack page is still open, then pays on it."""
    response, _ = place_order(client, customer, method="paystack")
    order = Order.objects.get(pk=response.json()["id"])
    payment = Payment.objects.get(order=order)
    with capture(execute=True):
        cancel_order(order_id=order.pk, actor_type="customer", actor=customer)
    fake_paystack.webhook_target = None
    deliver(fake_paystack.pay(payment.reference), "paystack", capture)
    return Order.objects.get(pk=order.pk), Payment.objects.get(pk=payment.pk)


def test_money_paid_after_cancellation_is_kept_flagged_and_refundable(
    fake_paystack, customer_client, customer, finance, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    order, payment = cancelled_then_paid(fake_paystack, customer_client, customer, capture)
    assert (order.state, order.payment_status, order.attention_reason) == (
        "cancelled",
        "pending",  # as cancelled: the order never took this money
        "payment_for_closed_order",
    )
    assert (payment.status, payment.applied) == ("succeeded", False)

    # No payment named: the refund endpoint finds the only money there is to give back.
    response = staff_refund(finance, order, {"amount": "5000.00", "reason": "late"}, key="k1")

    assert response.status_code == 200, response.content
    assert response.json()["refund"]["unapplied"] is True
    [processed] = fake_paystack.settle_refund(next(iter(fake_paystack.refunds)))
    deliver(processed, "paystack", capture)
    payment.refresh_from_db()
    order.refresh_from_db()
    assert (payment.amount_refunded, Refund.objects.get().status) == (
        Decimal("5000.00"),
        "processed",
    )
    # The order's own books are untouched: it never took this money.
    assert (order.state, order.payment_status, order.amount_refunded) == (
        "cancelled",
        "pending",
        Decimal("0.00"),
    )
    assert order.events.filter(kind="unapplied_payment_refunded").count() == 1


def test_a_dashboard_refund_of_money_without_an_order_is_booked_not_retried_forever(
    fake_paystack, customer_client, customer, django_capture_on_commit_callbacks
):
    capture = django_capture_on_commit_callbacks
    order, payment = cancelled_then_paid(fake_paystack, customer_client, customer, capture)

    [*_, processed] = fake_paystack.refund_from_dashboard(payment.reference)
    deliver(processed, "paystack", capture)

    refund = Refund.objects.get()
    assert (refund.status, refund.origin, refund.amount) == (
        "processed",
        "gateway",
        Decimal("5000.00"),
    )
    payment.refresh_from_db()
    assert payment.amount_refunded == Decimal("5000.00")
    assert staff.unapplied_money(order) == []


def test_a_second_payment_of_a_paid_order_is_refunded_by_naming_it(
    fake_paystack, customer_client, customer, finance, django_capture_on_commit_callbacks
):
    order, first, _ = paid_order(fake_paystack, customer_client, customer)
    second = Payment.objects.create(
        order=order, gateway="paystack", reference=f"{order.number}-2-abc", attempt=2,
        amount=order.total, currency="NGN", status="pending",
    )  # fmt: skip
    fake_paystack.transactions[second.reference] = {
        **fake_paystack.transactions[first.reference],
        "reference": second.reference,
        "id": 77,
        "refunded": 0,
    }
    deliver(fake_paystack.pay(second.reference), "paystack", django_capture_on_commit_callbacks)
    order.refresh_from_db()
    assert order.attention_reason == "paid_twice"

    response = staff_refund(
        finance,
        order,
        {"amount": "5000.00", "reason": "paid twice", "payment": second.reference},
        key="k1",
    )

    assert response.status_code == 200, response.content
    sent = fake_paystack.calls("POST", "/refund")[0].json()
    assert sent["transaction"] == second.reference
    order.refresh_from_db()
    assert (order.state, order.refund_pending, order.amount_refunded) == (
        "paid",
        Decimal("0.00"),
        Decimal("0.00"),
    )
    # Without naming it, a refund is of the order's own money, still fully refundable.
    assert staff.refundable_balance(order) == Decimal("5000.00")


def test_a_late_bank_transfer_is_kept_and_refunded_by_hand(buyer_order_expired, finance):
    order = buyer_order_expired
    staff.confirm_bank_transfer(
        order_id=order.pk, amount=order.total, reference="BANK-991", actor=finance
    )

    order.refresh_from_db()
    [(payment, left)] = staff.unapplied_money(order)
    assert (order.state, order.attention_reason, left) == (
        "cancelled",
        "payment_for_closed_order",
        order.total,
    )
    assert payment.gateway_ids == {"bank_reference": "BANK-991"}
    refund = staff.issue_refund_request(
        order_id=order.pk, amount=None, lines=None, restock=False, reason="late transfer",
        actor=finance, payment_reference=payment.reference, idempotency_key="k1",
    ).refund  # fmt: skip
    assert (refund.status, refund.manual, refund.amount) == ("processed", True, order.total)
    assert staff.unapplied_money(order) == []


@pytest.fixture
def buyer_order_expired(customer, customer_client):
    from datetime import timedelta

    from django.utils import timezone

    from orders.services import expire_order

    response, _ = place_order(customer_client, customer, method="bank_transfer")
    order = Order.objects.get(pk=response.json()["id"])
    expire_order(order_id=order.pk, now=timezone.now() + timedelta(days=3))
    return Order.objects.get(pk=order.pk)


def test_cancelling_closes_the_open_stripe_page(
    fake_stripe, customer_client, customer, django_capture_on_commit_callbacks
):
    response, _ = place_order(customer_client, customer, method="stripe")
    order = Order.objects.get(pk=response.json()["id"])
    payment = Payment.objects.get(order=order)

    with django_capture_on_commit_callbacks(execute=True):
        cancel_order(order_id=order.pk, actor_type="customer", actor=customer)

    session = fake_stripe.sessions[payment.gateway_ids["checkout_session_id"]]
    assert session["status"] == "expired"
    assert Payment.objects.get(pk=payment.pk).status == "cancelled"


def test_paying_again_reuses_the_young_open_attempt(fake_paystack, customer_client, customer):
    response, _ = place_order(customer_client, customer, method="paystack")
    order_id = response.json()["id"]

    answers = [customer_client.post(f"/api/orders/{order_id}/pay/") for _ in range(5)]

    assert {a.json()["payment"]["reference"] for a in answers} == {
        response.json()["payment"]["reference"]
    }
    assert all(a.json()["payment"]["reused"] for a in answers)
    assert len(fake_paystack.calls("POST", "/transaction/initialize")) == 1
    assert Payment.objects.filter(order_id=order_id).count() == 1


def test_an_older_open_stripe_attempt_is_closed_when_a_new_one_starts(
    fake_stripe, customer_client, customer
):
    from datetime import timedelta

    from django.utils import timezone

    response, _ = place_order(customer_client, customer, method="stripe")
    order_id = response.json()["id"]
    old = Payment.objects.get(order_id=order_id)
    Payment.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=1))

    new = start_payment(order_id=order_id)

    assert (new["attempt"], new["reused"]) == (2, False)
    assert Payment.objects.get(pk=old.pk).status == "cancelled"
    assert fake_stripe.sessions[old.gateway_ids["checkout_session_id"]]["status"] == "expired"
