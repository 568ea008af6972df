"""A refund whose answer was lost is never failed: it stays pending, holds its money, and is
settled by the refund webhook or by reconciliation asking the gateway. The first scenario of
issue 15: a Paystack refund carried out, its answer lost, the customer paid back twice."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from orders.models import Order
from payments.models import Refund
from payments.services import reconcile_pending_refunds
from tests.payments.money import deliver, paid_order, staff_refund

pytestmark = pytest.mark.django_db

LOSSES = ["drop", "timeout", "server_error"]


def now_plus(minutes: int):
    return timezone.now() + timedelta(minutes=minutes)


def reconcile(minutes_later: int = 15, attention_hours: int = 24):
    return reconcile_pending_refunds(
        older_than=timedelta(minutes=10),
        attention_after=timedelta(hours=attention_hours),
        now=now_plus(minutes_later),
    )


@pytest.fixture
def short_read_timeout(settings):
    settings.PAYMENT_HTTP_READ_TIMEOUT = 0.5  # the fake answers a lost call 5 s late


@pytest.mark.parametrize("loss", LOSSES)
def test_a_paystack_refund_whose_answer_is_lost_stays_pending_and_is_never_sent_twice(
    fake_paystack, customer_client, customer, finance_user, short_read_timeout, loss
):
    order, _, _ = paid_order(fake_paystack, customer_client, customer)
    fake_paystack.lose_answer_next(1, how=loss, path_contains="/refund")

    first = staff_refund(finance_user, order, {"amount": "1000.00", "reason": "r"}, key="k1")

    assert first.status_code == 200, first.content
    body = first.json()
    assert (body["refund"]["status"], body["refund"]["outcome_unknown"]) == ("pending", True)
    assert (body["amount_refunded"], body["refund_pending"], body["refundable_balance"]) == (
        "0.00",
        "1000.00",
        "4000.00",
    )
    # Staff retry, as they would after an error: the held money is not refundable twice.
    retry = staff_refund(finance_user, order, {"amount": "4000.01", "reason": "r"}, key="k2")
    assert (retry.status_code, retry.json()["error"]["code"]) == (409, "refund_exceeds_refundable")
    assert len(fake_paystack.refunds) == 1  # the customer got 1,000 back, once
    assert next(iter(fake_paystack.refunds.values()))["amount"] == 100000


def test_the_refund_webhook_settles_a_refund_whose_answer_was_lost(
    fake_paystack,
    customer_client,
    customer,
    finance_user,
    django_capture_on_commit_callbacks,
):
    order, _, _ = paid_order(fake_paystack, customer_client, customer)
    fake_paystack.lose_answer_next(1, how="drop", path_contains="/refund")
    staff_refund(finance_user, order, {"amount": "1000.00", "reason": "r"}, key="k1")
    [gateway_refund_id] = fake_paystack.refunds

    [processed] = fake_paystack.settle_refund(gateway_refund_id)  # refund.processed, no id
    deliver(processed, "paystack", django_capture_on_commit_callbacks)

    refund = Refund.objects.get()
    assert (refund.status, refund.outcome_unknown) == ("processed", False)
    order = Order.objects.get(pk=order.pk)
    assert (order.state, order.amount_refunded, order.refund_pending) == (
        "partially_refunded",
        Decimal("1000.00"),
        Decimal("0.00"),
    )


@pytest.mark.parametrize(
    ("gateway", "fixture"), [("paystack", "fake_paystack"), ("flutterwave", "fake_flutterwave")]
)
def test_reconciliation_finds_a_refund_whose_answer_was_lost(
    request, customer_client, customer, finance_user, gateway, fixture
):
    fake = request.getfixturevalue(fixture)
    order, _, _ = paid_order(fake, customer_client, customer, gateway=gateway)
    fake.lose_answer_next(1, how="drop", path_contains="/refund")
    staff_refund(finance_user, order, {"amount": "1000.00", "reason": "r"}, key="k1")
    [gateway_refund_id] = fake.refunds

    too_early = reconcile(minutes_later=5)
    assert too_early.checked == 0
    report = reconcile()

    assert report.checked == 1
    refund = Refund.objects.get()
    assert refund.gateway_refund_id == str(gateway_refund_id)
    order = Order.objects.get(pk=order.pk)
    if gateway == "flutterwave":  # Flutterwave lists it completed: booked now
        assert (refund.status, order.state, order.amount_refunded) == (
            "processed",
            "partially_refunded",
            Decimal("1000.00"),
        )
    else:  # Paystack lists it pending: found, still waiting for its webhook
        assert (refund.status, order.refund_pending) == ("pending", Decimal("1000.00"))
        fake.settle_refund(gateway_refund_id, outcome="failed")
        reconcile(minutes_later=30)
        refund.refresh_from_db()
        order.refresh_from_db()
        # A definite failure: the money is refundable again and staff are told.
        assert (refund.status, order.refund_pending, order.attention_reason) == (
            "failed",
            Decimal("0.00"),
            "refund_failed",
        )


def test_stripe_refunds_survive_a_lost_answer_by_their_idempotency_key(
    fake_stripe, customer_client, customer, finance_user
):
    order, _, _ = paid_order(fake_stripe, customer_client, customer, gateway="stripe")
    fake_stripe.lose_answer_next(3, how="drop", path_contains="/v1/refunds")

    response = staff_refund(finance_user, order, {"amount": "1000.00", "reason": "r"}, key="k1")

    assert response.json()["refund"]["outcome_unknown"] is True
    assert len(fake_stripe.refunds) == 1  # three attempts with one key: one refund at Stripe
    reconcile()
    refund = Refund.objects.get()
    [stripe_refund_id] = fake_stripe.refunds
    assert (refund.status, refund.gateway_refund_id) == ("pending", stripe_refund_id)


def test_a_definite_refusal_fails_the_refund_and_frees_its_money(
    fake_paystack, customer_client, customer, finance_user
):
    order, _, _ = paid_order(fake_paystack, customer_client, customer)
    fake_paystack.answer_next(
        1,
        status=400,
        body=b'{"status": false, "message": "Transaction has been fully reversed"}',
        path_contains="/refund",
    )

    response = staff_refund(finance_user, order, {"amount": "1000.00", "reason": "r"}, key="k1")

    assert (response.status_code, response.json()["error"]["code"]) == (
        502,
        "payment_gateway_rejected",
    )
    refund = Refund.objects.get()
    order = Order.objects.get(pk=order.pk)
    assert (refund.status, order.refund_pending, order.amount_refunded) == (
        "failed",
        Decimal("0.00"),
        Decimal("0.00"),
    )
    assert (order.needs_attention, order.attention_reason) == (True, "refund_failed")
    # The stored first answer is replayed to a retry with the key; a new key may try again.
    again = staff_refund(finance_user, order, {"amount": "1000.00", "reason": "r"}, key="k1")
    assert (again.status_code, again.json()) == (502, response.json())


def test_a_refund_nobody_settles_flags_its_order_once(
    fake_paystack, customer_client, customer, finance_user
):
    order, _, _ = paid_order(fake_paystack, customer_client, customer)
    fake_paystack.lose_answer_next(1, how="drop", path_contains="/refund")
    staff_refund(finance_user, order, {"amount": "1000.00", "reason": "r"}, key="k1")
    fake_paystack.refunds.clear()  # the gateway lists no such refund

    assert reconcile().not_listed == 1
    assert Order.objects.get(pk=order.pk).needs_attention is False
    late = reconcile(minutes_later=25 * 60)
    again = reconcile(minutes_later=26 * 60)

    assert (late.flagged, again.flagged) == (1, 0)
    order = Order.objects.get(pk=order.pk)
    assert (order.needs_attention, order.attention_reason) == (True, "refund_unsettled")
    assert order.events.filter(kind="flagged", reason="refund_unsettled").count() == 1
    assert Refund.objects.get().status == "pending"  # still held: staff decide
