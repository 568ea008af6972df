"""apply_gateway_event outcomes for duplicate, late and out-of-order events (one process,
tasks eager): the table in docs/payments.md "Flows" is this file."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from inventory import services as inventory
from orders.models import Order, OrderEvent
from payments.models import Dispute, Payment, Refund
from payments.providers import DisputeInfo, GatewayEvent, RefundInfo
from payments.services import Deferred, apply_gateway_event
from shop.models import Product
from tests.factories import OrderFactory, OrderItemFactory, ProductFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


@pytest.fixture
def product():
    return ProductFactory(stock=10)


def pending_order(product, *, gateway: str = "paystack", attempts: int = 1):
    order = OrderFactory(state="pending_payment", payment_status="pending", payment_method=gateway)
    OrderItemFactory(order=order, product=product, quantity=2, unit_price=Decimal("2500.00"))
    inventory.reserve(lines={product.pk: 2}, owner=order.number, ttl=timedelta(minutes=30))
    payments = [
        Payment.objects.create(
            order=order,
            gateway=gateway,
            reference=f"{order.number}-{n}-abc",
            attempt=n,
            amount=order.total,
            currency=order.currency,
            status="pending",
        )
        for n in range(1, attempts + 1)
    ]
    return order, payments


def event(kind: str, payment: Payment, *, key: str | None = None, at=T0, amount="5000.00", **kw):
    kw.setdefault("reference", payment.reference)
    return GatewayEvent(
        gateway=payment.gateway,
        kind=kind,  # type: ignore[arg-type]
        event_type=kind.replace("_", "."),
        event_key=key or f"{kind}:{payment.reference}",
        amount=Decimal(amount) if amount is not None else None,
        currency="NGN",
        occurred_at=at,
        **kw,
    )


def state(order: Order) -> tuple[str, str]:
    order.refresh_from_db()
    return order.state, order.payment_status


def test_success_then_duplicate_success_is_paid_once(product):
    order, [payment] = pending_order(product)

    assert apply_gateway_event(event=event("charge_succeeded", payment)) == "paid"
    assert apply_gateway_event(event=event("charge_succeeded", payment, key="other")) == (
        "already_succeeded"
    )

    assert state(order) == ("paid", "paid")
    assert OrderEvent.objects.filter(order=order, kind="paid").count() == 1
    assert Product.objects.get(pk=product.pk).stock == 8


def test_failure_after_success_never_unpays(product):
    order, [payment] = pending_order(product)
    apply_gateway_event(event=event("charge_succeeded", payment, at=T0))

    outcome = apply_gateway_event(event=event("charge_failed", payment, at=T0 + timedelta(1)))

    assert outcome == "stale_failure_ignored"
    assert state(order) == ("paid", "paid")
    assert Payment.objects.get(pk=payment.pk).status == "succeeded"


def test_failure_of_an_older_attempt_does_not_fail_the_current_one(product):
    order, [old, new] = pending_order(product, attempts=2)

    outcome = apply_gateway_event(event=event("charge_failed", old))

    assert outcome == "failure_of_older_attempt"
    assert state(order) == ("pending_payment", "pending")
    assert Payment.objects.get(pk=old.pk).status == "failed"
    assert Payment.objects.get(pk=new.pk).status == "pending"


def test_success_of_an_older_attempt_still_pays(product):
    order, [old, _new] = pending_order(product, attempts=2)

    assert apply_gateway_event(event=event("charge_succeeded", old)) == "paid"
    assert state(order) == ("paid", "paid")


def test_failure_then_late_success_pays_after_payment_failed(product):
    order, [payment] = pending_order(product)
    assert apply_gateway_event(event=event("charge_failed", payment)) == "payment_failed"
    assert state(order) == ("payment_failed", "not_paid")

    # The customer's bank confirmed after all: the money is real, the stock is free again.
    outcome = apply_gateway_event(event=event("charge_succeeded", payment, at=T0 + timedelta(1)))

    assert outcome == "paid"
    assert state(order) == ("paid", "paid")
    assert Product.objects.get(pk=product.pk).stock == 8


def test_refund_before_the_charge_success_is_deferred_then_applies(product):
    order, [payment] = pending_order(product)
    refund_event = event(
        "refund_processed",
        payment,
        amount="5000.00",
        refund=RefundInfo(gateway_refund_id=None, refund_reference="RRF_1", status="processed"),
    )

    with pytest.raises(Deferred):
        apply_gateway_event(event=refund_event)
    assert state(order) == ("pending_payment", "pending")
    assert not Refund.objects.exists()

    apply_gateway_event(event=event("charge_succeeded", payment))
    assert apply_gateway_event(event=refund_event) == "refund_processed"
    assert apply_gateway_event(event=refund_event) == "already_processed"

    assert state(order) == ("refunded", "refunded")
    refund = Refund.objects.get()
    assert (refund.amount, refund.status, refund.reason) == (
        Decimal("5000.00"),
        "processed",
        "Refunded at the gateway.",
    )


@pytest.mark.parametrize("amount", ["0.00", "-100.00"])
def test_a_signed_refund_of_no_money_books_nothing_and_flags_the_order(product, amount):
    order, [payment] = pending_order(product)
    apply_gateway_event(event=event("charge_succeeded", payment))
    refund_event = event(
        "refund_processed",
        payment,
        amount=amount,
        refund=RefundInfo(gateway_refund_id="re_odd", refund_reference=None, status="processed"),
    )

    assert apply_gateway_event(event=refund_event) == "refund_amount_invalid"

    order.refresh_from_db()
    assert (order.state, order.payment_status) == ("paid", "paid")
    assert (order.needs_attention, order.attention_reason) == (True, "refund_amount_invalid")
    assert not Refund.objects.exists()


def test_refund_failed_is_recorded_and_flagged(product):
    order, [payment] = pending_order(product)
    apply_gateway_event(event=event("charge_succeeded", payment))
    refund = Refund.objects.create(
        payment=payment,
        amount=Decimal("1000.00"),
        currency="NGN",
        gateway_refund_id="re_1",
        idempotency_key="k1",
    )
    failed = event(
        "refund_failed",
        payment,
        amount="1000.00",
        failure_reason="expired_or_canceled_card",
        refund=RefundInfo(gateway_refund_id="re_1", refund_reference=None, status="failed"),
    )

    assert apply_gateway_event(event=failed) == "refund_failed"

    refund.refresh_from_db()
    assert (refund.status, refund.failure_reason) == ("failed", "expired_or_canceled_card")
    order.refresh_from_db()
    assert (order.state, order.amount_refunded) == ("paid", Decimal("0.00"))
    assert (order.needs_attention, order.attention_reason) == (True, "refund_failed")


def _dispute(payment: Payment, kind: str, status: str, key: str) -> GatewayEvent:
    return event(
        kind,
        payment,
        key=key,
        reference=None,
        gateway_ids={"payment_intent_id": "pi_1"},
        dispute=DisputeInfo(
            gateway_dispute_id="dp_1",
            status=status,  # type: ignore[arg-type]
            reason="fraudulent",
            evidence_due=T0 + timedelta(days=7),
            amount=Decimal("5000.00"),
            currency="NGN",
        ),
    )


def test_dispute_found_by_payment_intent_and_resolution_before_opening(product):
    order, [payment] = pending_order(product, gateway="stripe")
    apply_gateway_event(
        event=event("charge_succeeded", payment, gateway_ids={"payment_intent_id": "pi_1"})
    )

    # the "closed" event overtakes "created": the order still goes disputed → back to paid
    won = _dispute(payment, "dispute_resolved", "won", "evt_closed")
    assert apply_gateway_event(event=won) == "dispute_won"
    assert apply_gateway_event(
        event=_dispute(payment, "dispute_opened", "open", "evt_created")
    ) == ("already_recorded")

    assert state(order) == ("paid", "paid")
    dispute = Dispute.objects.get()
    assert (dispute.status, dispute.order_id, dispute.evidence_due_at) == (
        "won",
        order.pk,
        T0 + timedelta(days=7),
    )
    kinds = list(OrderEvent.objects.filter(order=order).values_list("kind", flat=True))
    assert kinds.count("dispute_opened") == 1
    assert kinds.count("dispute_won") == 1


def test_unknown_reference_is_recorded_not_applied(product):
    order, [_payment] = pending_order(product)
    stranger = GatewayEvent(
        gateway="paystack",
        kind="charge_succeeded",
        event_type="charge.success",
        event_key="x",
        reference="NOT-OURS-1",
        amount=Decimal("5000.00"),
        currency="NGN",
        occurred_at=T0,
    )

    assert apply_gateway_event(event=stranger) == "unknown_reference"
    assert state(order) == ("pending_payment", "pending")
