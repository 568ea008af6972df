"""The whole table of state pairs, generated: every allowed edge succeeds and writes exactly
one event; every other pair is refused with invalid_transition and changes nothing."""

import itertools
from decimal import Decimal

import pytest

from core.errors import DomainError
from orders import services
from orders.models import Order, OrderEvent
from orders.states import DISPUTABLE_STATES, OrderState, PaymentStatus
from shop.models import Product
from tests.factories import OrderFactory, OrderItemFactory, StaffFactory

pytestmark = pytest.mark.django_db

S = OrderState

# The designed order state machine, plus the COD-only edges checkout needs (docs/architecture.md,
# "The state machine"; docs/state-machine.md draws it).
ALWAYS = {
    S.PENDING_PAYMENT: {S.PAID, S.PAYMENT_FAILED, S.CANCELLED},
    S.PAYMENT_FAILED: {S.PENDING_PAYMENT, S.PAID, S.CANCELLED},
    S.PAID: {S.PROCESSING, S.CANCELLED, S.REFUNDED, S.PARTIALLY_REFUNDED, S.DISPUTED},
    S.PROCESSING: {S.READY_FOR_SHIPMENT, S.CANCELLED, S.DISPUTED},
    S.READY_FOR_SHIPMENT: {S.SHIPPED, S.CANCELLED, S.DISPUTED},
    S.SHIPPED: {S.IN_TRANSIT, S.DELIVERED, S.DISPUTED},
    S.IN_TRANSIT: {S.DELIVERED, S.DISPUTED},
    S.DELIVERED: {S.PARTIALLY_REFUNDED, S.REFUNDED, S.DISPUTED, S.ARCHIVED},
    S.PARTIALLY_REFUNDED: {S.PARTIALLY_REFUNDED, S.REFUNDED, S.ARCHIVED, S.DISPUTED},
    S.DISPUTED: {S.REFUNDED},  # + the state before the dispute, added per case
    S.CANCELLED: {S.ARCHIVED},
    S.REFUNDED: {S.ARCHIVED},
    S.ARCHIVED: set(),
}
COD_ONLY = {
    S.PENDING_PAYMENT: {S.PROCESSING},
    S.SHIPPED: {S.CANCELLED},
    S.IN_TRANSIT: {S.CANCELLED},
}
BEFORE_DISPUTE = S.DELIVERED  # the disputed fixture's previous state, for refused pairs


def allowed_from(state: str, method: str, before_dispute: str = BEFORE_DISPUTE) -> set[str]:
    allowed = set(ALWAYS[state])
    if method == "cod":
        allowed |= COD_ONLY.get(state, set())
    if state == S.DISPUTED:
        allowed.add(before_dispute)
    return allowed


PAID_LIKE = {
    S.PAID,
    S.PROCESSING,
    S.READY_FOR_SHIPMENT,
    S.SHIPPED,
    S.IN_TRANSIT,
    S.DELIVERED,
    S.ARCHIVED,
}


def make_order(state: str, method: str, before_dispute: str = BEFORE_DISPUTE) -> Order:
    payment_status = {
        S.PENDING_PAYMENT: PaymentStatus.NOT_PAID,
        S.PAYMENT_FAILED: PaymentStatus.NOT_PAID,
        S.CANCELLED: PaymentStatus.NOT_PAID,
        S.PARTIALLY_REFUNDED: PaymentStatus.PARTIALLY_REFUNDED,
        S.REFUNDED: PaymentStatus.REFUNDED,
        S.DISPUTED: PaymentStatus.DISPUTED,
    }.get(state, PaymentStatus.PAID)
    extra = {}
    if state == S.DISPUTED:
        extra = {
            "state_before_dispute": before_dispute,
            "payment_status_before_dispute": PaymentStatus.PARTIALLY_REFUNDED
            if before_dispute == S.PARTIALLY_REFUNDED
            else PaymentStatus.PAID,
        }
    order = OrderFactory(
        state=state,
        payment_method=method,
        payment_status=payment_status,
        stock_deducted=state not in (S.PENDING_PAYMENT, S.PAYMENT_FAILED, S.CANCELLED),
        amount_refunded=Decimal("1000.00") if state == S.PARTIALLY_REFUNDED else Decimal("0"),
        **extra,
    )
    OrderItemFactory(order=order, unit_price=Decimal("2500.00"), quantity=2)
    return order


def attempts(target: str, order: Order, staff) -> list:
    """Every service call that asks for ``target``."""
    oid = order.pk
    remaining = order.total - order.amount_refunded
    return {
        S.PENDING_PAYMENT: [lambda: services.retry_payment(order_id=oid)],
        S.PAYMENT_FAILED: [lambda: services.mark_payment_failed(order_id=oid)],
        S.PAID: [
            lambda: services.mark_paid(order_id=oid, amount=order.total, currency=order.currency)
        ],
        S.PROCESSING: [
            lambda: services.start_processing(order_id=oid, actor=staff),
            lambda: services.accept_cash_on_delivery(order_id=oid, actor=staff),
        ],
        S.READY_FOR_SHIPMENT: [lambda: services.mark_ready_for_shipment(order_id=oid, actor=staff)],
        S.SHIPPED: [
            lambda: services.mark_shipped(
                order_id=oid, tracking_number="TRK1", carrier="GIG", actor=staff
            )
        ],
        S.IN_TRANSIT: [lambda: services.mark_in_transit(order_id=oid, actor=staff)],
        S.DELIVERED: [lambda: services.mark_delivered(order_id=oid, actor=staff)],
        S.CANCELLED: [lambda: services.cancel_order(order_id=oid, actor_type="staff", actor=staff)],
        S.PARTIALLY_REFUNDED: [
            lambda: services.refund_order(order_id=oid, amount=Decimal("500.00"), actor=staff)
        ],
        S.REFUNDED: [
            lambda: services.refund_order(order_id=oid, amount=remaining, actor=staff),
            lambda: services.resolve_dispute(order_id=oid, won=False),
        ],
        S.DISPUTED: [lambda: services.open_dispute(order_id=oid)],
        S.ARCHIVED: [lambda: services.archive_order(order_id=oid, actor=staff)],
    }[target]


def allowed_call(source: str, target: str, order: Order, staff):
    if source == S.DISPUTED:
        return lambda: services.resolve_dispute(order_id=order.pk, won=target != S.REFUNDED)
    if target == S.PROCESSING and source == S.PENDING_PAYMENT:
        return lambda: services.accept_cash_on_delivery(order_id=order.pk, actor=staff)
    return attempts(target, order, staff)[0]


def snapshot(order: Order):
    order = Order.objects.get(pk=order.pk)
    return (
        order.state,
        order.payment_status,
        order.amount_refunded,
        OrderEvent.objects.filter(order=order).count(),
        list(Product.objects.order_by("pk").values_list("stock", flat=True)),
    )


PAIRS = [
    (method, source, target)
    for method in ("bank_transfer", "cod")
    for source, target in itertools.product(S.values, S.values)
]


def is_allowed(method: str, source: str, target: str) -> bool:
    if source == S.DISPUTED:
        return target == S.REFUNDED or target in DISPUTABLE_STATES
    return target in allowed_from(source, method)


@pytest.mark.parametrize(("method", "source", "target"), PAIRS)
def test_state_pair(method, source, target):
    staff = StaffFactory()
    if is_allowed(method, source, target):
        before = target if source == S.DISPUTED and target != S.REFUNDED else BEFORE_DISPUTE
        order = make_order(source, method, before_dispute=before)
        events_before = OrderEvent.objects.filter(order=order).count()
        allowed_call(source, target, order, staff)()
        order.refresh_from_db()
        assert order.state == target
        events = list(OrderEvent.objects.filter(order=order).order_by("id"))
        assert len(events) == events_before + 1
        assert (events[-1].from_state, events[-1].to_state) == (source, target)
        return

    order = make_order(source, method)
    expected_allowed = sorted(allowed_from(source, method))
    before = snapshot(order)
    for attempt in attempts(target, order, staff):
        with pytest.raises(DomainError) as exc:
            attempt()
        assert exc.value.code == "invalid_transition", exc.value.details
        assert exc.value.http_status == 409
        assert exc.value.details["from"] == source
        assert exc.value.details["allowed"] == expected_allowed
        assert snapshot(order) == before


def test_code_declares_exactly_the_table():
    """The FSM in the code has no edge the table above lacks, and lacks none it has."""
    declared = set()
    for transition in Order().get_all_state_transitions():
        target = transition.target
        targets = set(DISPUTABLE_STATES) if not isinstance(target, str) else {target}
        declared |= {(transition.source, t) for t in targets}
    expected = {
        (source, target)
        for source in S.values
        for target in (
            allowed_from(source, "cod")
            | (set(DISPUTABLE_STATES) if source == S.DISPUTED else set())
        )
    }
    assert declared == expected


def test_won_dispute_returns_to_the_previous_state_and_payment_status():
    order = make_order(S.PARTIALLY_REFUNDED, "bank_transfer")
    services.open_dispute(order_id=order.pk, payload={"dispute_id": "D1"})
    order.refresh_from_db()
    assert (order.state, order.payment_status) == (S.DISPUTED, PaymentStatus.DISPUTED)
    services.resolve_dispute(order_id=order.pk, won=True)
    order.refresh_from_db()
    assert (order.state, order.payment_status) == (
        S.PARTIALLY_REFUNDED,
        PaymentStatus.PARTIALLY_REFUNDED,
    )


def test_state_cannot_be_assigned_directly():
    order = make_order(S.PAID, "bank_transfer")
    with pytest.raises(AttributeError):
        order.state = S.SHIPPED
