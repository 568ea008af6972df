"""Every staff action: what it changes, what it refuses (changing nothing), what it logs."""

from decimal import Decimal

import pytest

from backoffice import services as staff
from core.errors import DomainError
from inventory.models import InventoryLock
from orders.models import Order, OrderEvent
from orders.states import ActorType, OrderState, PaymentStatus
from payments.models import Refund
from shop.models import Product
from tests.factories import OrderFactory
from tests.staff.conftest import paid_order, placed_order

S = OrderState
pytestmark = pytest.mark.django_db


def kinds(order: Order) -> list[str]:
    return list(order.events.order_by("id").values_list("kind", flat=True))


def stock(product: Product) -> int:
    return Product.objects.values_list("stock", flat=True).get(pk=product.pk)


def assert_refused(code: str, call, order: Order) -> None:
    before = Order.objects.filter(pk=order.pk).values().get()
    events_before = OrderEvent.objects.filter(order=order).count()
    with pytest.raises(DomainError) as refused:
        call()
    assert refused.value.code == code
    assert Order.objects.filter(pk=order.pk).values().get() == before
    assert OrderEvent.objects.filter(order=order).count() == events_before


def last_event(order: Order) -> OrderEvent:
    return order.events.order_by("-id").first()


def refund_money(order: Order, amount: str, actor, *, reason: str = "r", **options) -> Order:
    """A refund of money only: no lines, nothing back on the shelf."""
    return staff.refund(
        order_id=order.pk,
        amount=Decimal(amount),
        lines=None,
        restock=False,
        reason=reason,
        actor=actor,
        **options,
    )


# --- update_order_status -------------------------------------------------------------------
def test_fulfilment_paid_to_shipped_logs_each_step_with_the_staff_user(
    buyer, stocked_product, support_user
):
    order = paid_order(buyer, stocked_product)
    staff.update_order_status(
        order_id=order.pk, to_state=S.PROCESSING, actor=support_user, reason="picking"
    )
    staff.update_order_status(order_id=order.pk, to_state=S.READY_FOR_SHIPMENT, actor=support_user)
    shipped = staff.update_order_status(
        order_id=order.pk,
        to_state=S.SHIPPED,
        actor=support_user,
        reason="handed to courier",
        tracking_number=" GIG-123 ",
        carrier="GIG Logistics",
    )

    assert (shipped.state, shipped.tracking_number, shipped.carrier) == (
        S.SHIPPED,
        "GIG-123",
        "GIG Logistics",
    )
    events = list(order.events.order_by("id"))
    assert [(e.kind, e.from_state, e.to_state) for e in events[2:]] == [
        ("processing_started", S.PAID, S.PROCESSING),
        ("ready_for_shipment", S.PROCESSING, S.READY_FOR_SHIPMENT),
        ("shipped", S.READY_FOR_SHIPMENT, S.SHIPPED),
    ]
    assert {(e.actor_id, e.actor_type) for e in events[2:]} == {(support_user.pk, ActorType.STAFF)}
    assert [e.reason for e in events[2:]] == ["picking", "", "handed to courier"]
    assert events[-1].payload == {"tracking_number": "GIG-123", "carrier": "GIG Logistics"}


@pytest.mark.parametrize(("tracking", "carrier"), [("", "GIG"), ("GIG-1", ""), ("  ", "  ")])
def test_shipping_needs_tracking_number_and_carrier(
    buyer, stocked_product, support_user, tracking, carrier
):
    order = paid_order(buyer, stocked_product)
    staff.update_order_status(order_id=order.pk, to_state=S.PROCESSING, actor=support_user)
    staff.update_order_status(order_id=order.pk, to_state=S.READY_FOR_SHIPMENT, actor=support_user)
    assert_refused(
        "tracking_required",
        lambda: staff.update_order_status(
            order_id=order.pk,
            to_state=S.SHIPPED,
            actor=support_user,
            tracking_number=tracking,
            carrier=carrier,
        ),
        order,
    )


def test_a_step_the_state_machine_refuses_changes_nothing(buyer, stocked_product, support_user):
    order = paid_order(buyer, stocked_product)
    assert_refused(
        "invalid_transition",
        lambda: staff.update_order_status(
            order_id=order.pk, to_state=S.DELIVERED, actor=support_user
        ),
        order,
    )
    unpaid = placed_order(buyer, stocked_product, quantity=1)
    assert_refused(
        "invalid_transition",
        lambda: staff.update_order_status(
            order_id=unpaid.pk, to_state=S.PROCESSING, actor=support_user
        ),
        unpaid,
    )


@pytest.mark.parametrize("target", [S.CANCELLED, S.REFUNDED, S.PAID, "nonsense"])
def test_states_with_their_own_action_are_not_status_changes(
    buyer, stocked_product, support_user, target
):
    order = paid_order(buyer, stocked_product)
    assert_refused(
        "status_change_not_supported",
        lambda: staff.update_order_status(order_id=order.pk, to_state=target, actor=support_user),
        order,
    )


def test_status_targets_are_exactly_the_fulfilment_edges_from_the_state(buyer, stocked_product):
    order = paid_order(buyer, stocked_product)
    assert staff.status_targets(order) == [S.PROCESSING]
    assert staff.status_targets(OrderFactory(state=S.SHIPPED)) == [S.IN_TRANSIT, S.DELIVERED]
    assert staff.status_targets(OrderFactory(state=S.PENDING_PAYMENT)) == []
    assert staff.status_targets(OrderFactory(state=S.DELIVERED)) == [S.ARCHIVED]


# --- cancel ----------------------------------------------------------------------------------
def test_cancel_unpaid_releases_the_locks(buyer, stocked_product, support_user):
    order = placed_order(buyer, stocked_product, quantity=3)
    assert InventoryLock.objects.filter(owner=order.number).count() == 1

    cancelled = staff.cancel_order(
        order_id=order.pk, actor=support_user, reason="customer called", allow_refund=False
    )

    assert (cancelled.state, cancelled.payment_status) == (S.CANCELLED, PaymentStatus.NOT_PAID)
    assert InventoryLock.objects.filter(owner=order.number).count() == 0
    assert stock(stocked_product) == 10
    event = last_event(order)
    assert (event.kind, event.actor_id, event.actor_type, event.reason) == (
        "cancelled",
        support_user.pk,
        ActorType.STAFF,
        "customer called",
    )
    assert event.payload == {"locks_released": 1}


def test_cancel_paid_refunds_everything_and_restocks(buyer, stocked_product, finance_user):
    order = paid_order(buyer, stocked_product, quantity=3)
    assert stock(stocked_product) == 7

    cancelled = staff.cancel_order(
        order_id=order.pk, actor=finance_user, reason="out of business", allow_refund=True
    )

    assert (cancelled.state, cancelled.payment_status, cancelled.amount_refunded) == (
        S.CANCELLED,
        PaymentStatus.REFUNDED,
        Decimal("7500.00"),
    )
    assert stock(stocked_product) == 10
    assert kinds(order)[-2:] == ["cancelled", "refund_recorded"]
    refund_event = last_event(order)
    assert refund_event.payload["amount"] == "7500.00"
    assert refund_event.payload["restocked"] == []
    assert (refund_event.actor_id, refund_event.actor_type) == (finance_user.pk, ActorType.STAFF)


def test_cancel_paid_without_refund_permission_is_refused(buyer, stocked_product, support_user):
    order = paid_order(buyer, stocked_product)
    assert_refused(
        "permission_denied",
        lambda: staff.cancel_order(
            order_id=order.pk, actor=support_user, reason="x", allow_refund=False
        ),
        order,
    )
    assert stock(stocked_product) == 8


def test_cancel_after_shipment_is_refused(buyer, stocked_product, superuser):
    order = OrderFactory(state=S.SHIPPED, payment_status=PaymentStatus.PAID)
    assert_refused(
        "order_not_cancellable",
        lambda: staff.cancel_order(
            order_id=order.pk, actor=superuser, reason="late", allow_refund=True
        ),
        order,
    )


def test_cancel_needs_a_reason(buyer, stocked_product, superuser):
    order = placed_order(buyer, stocked_product)
    assert_refused(
        "reason_required",
        lambda: staff.cancel_order(
            order_id=order.pk, actor=superuser, reason="  ", allow_refund=True
        ),
        order,
    )


# --- bank transfer ---------------------------------------------------------------------------
def test_confirm_bank_transfer_pays_and_deducts_stock(buyer, stocked_product, finance_user):
    order = placed_order(buyer, stocked_product, quantity=2)

    paid = staff.confirm_bank_transfer(
        order_id=order.pk, amount=Decimal("5000.00"), reference="GTB-778", actor=finance_user
    )

    assert (paid.state, paid.payment_status, paid.stock_deducted) == (
        S.PAID,
        PaymentStatus.PAID,
        True,
    )
    assert stock(stocked_product) == 8
    event = last_event(order)
    assert (event.kind, event.actor_id, event.actor_type) == (
        "paid",
        finance_user.pk,
        ActorType.STAFF,
    )
    assert event.payload["reference"] == "GTB-778"
    assert event.payload["amount"] == "5000.00"


def assert_transfer_refused(
    code: str, order: Order, actor, *, amount: Decimal | None = None, reference: str = "R1"
) -> None:
    assert_refused(
        code,
        lambda: staff.confirm_bank_transfer(
            order_id=order.pk,
            amount=order.total if amount is None else amount,
            reference=reference,
            actor=actor,
        ),
        order,
    )


@pytest.mark.parametrize("amount", ["4999.99", "2500.00", "5000.01"])
def test_a_transfer_that_is_not_the_total_is_refused(buyer, stocked_product, finance_user, amount):
    order = placed_order(buyer, stocked_product, quantity=2)
    assert_transfer_refused("transfer_amount_mismatch", order, finance_user, amount=Decimal(amount))
    assert stock(stocked_product) == 10


def test_bank_transfer_refusals(buyer, stocked_product, finance_user):
    cod = placed_order(buyer, stocked_product, method="cod")
    assert_transfer_refused("wrong_payment_method", cod, finance_user)
    paid = paid_order(buyer, stocked_product)
    assert_transfer_refused("invalid_transition", paid, finance_user)
    unpaid = placed_order(buyer, stocked_product)
    assert_transfer_refused("reason_required", unpaid, finance_user, reference=" ")


# --- cash on delivery ------------------------------------------------------------------------
def test_cod_accept_collect(buyer, stocked_product, support_user, finance_user):
    order = placed_order(buyer, stocked_product, quantity=2, method="cod")

    accepted = staff.accept_cod_order(order_id=order.pk, actor=support_user, reason="called")
    assert (accepted.state, accepted.payment_status) == (S.PROCESSING, PaymentStatus.PENDING)
    assert stock(stocked_product) == 8

    assert_refused(
        "payment_mismatch",
        lambda: staff.mark_cash_collected(
            order_id=order.pk, amount=Decimal("4000.00"), actor=finance_user
        ),
        order,
    )
    collected = staff.mark_cash_collected(
        order_id=order.pk, amount=Decimal("5000.00"), actor=finance_user
    )
    assert (collected.state, collected.payment_status) == (S.PROCESSING, PaymentStatus.PAID)
    assert kinds(order)[-2:] == ["cod_accepted", "cash_collected"]
    assert [e.actor_id for e in order.events.order_by("id")][-2:] == [
        support_user.pk,
        finance_user.pk,
    ]


def test_cod_actions_refuse_other_methods(buyer, stocked_product, superuser):
    order = placed_order(buyer, stocked_product)
    for call in (
        lambda: staff.accept_cod_order(order_id=order.pk, actor=superuser),
        lambda: staff.mark_cash_collected(order_id=order.pk, amount=order.total, actor=superuser),
        lambda: staff.mark_delivery_refused(order_id=order.pk, actor=superuser, reason="no"),
    ):
        assert_refused("wrong_payment_method", call, order)


def test_delivery_refused_cancels_and_restocks(buyer, stocked_product, support_user):
    order = placed_order(buyer, stocked_product, quantity=4, method="cod")
    staff.accept_cod_order(order_id=order.pk, actor=support_user)
    assert_refused(
        "invalid_transition",
        lambda: staff.mark_delivery_refused(order_id=order.pk, actor=support_user, reason="no"),
        order,
    )
    staff.update_order_status(order_id=order.pk, to_state=S.READY_FOR_SHIPMENT, actor=support_user)
    staff.update_order_status(
        order_id=order.pk,
        to_state=S.SHIPPED,
        actor=support_user,
        tracking_number="T1",
        carrier="Kwik",
    )
    assert stock(stocked_product) == 6

    refused = staff.mark_delivery_refused(
        order_id=order.pk, actor=support_user, reason="customer refused at the door"
    )

    assert (refused.state, refused.payment_status) == (S.CANCELLED, PaymentStatus.PENDING)
    assert stock(stocked_product) == 10
    event = last_event(order)
    assert (event.kind, event.from_state, event.actor_id, event.reason) == (
        "cancelled",
        S.SHIPPED,
        support_user.pk,
        "customer refused at the door",
    )


# --- refunds ---------------------------------------------------------------------------------
def test_partial_refunds_accumulate_until_refunded(buyer, stocked_product, finance_user):
    order = paid_order(buyer, stocked_product, quantity=2)

    first = refund_money(order, "1000.00", finance_user, reason="damaged box")
    assert (first.state, first.amount_refunded) == (S.PARTIALLY_REFUNDED, Decimal("1000.00"))
    assert_refused(
        "refund_exceeds_refundable",
        lambda: refund_money(order, "4000.01", finance_user, reason="too much"),
        order,
    )
    second = refund_money(order, "4000.00", finance_user, reason="rest")
    assert (second.state, second.payment_status, second.amount_refunded) == (
        S.REFUNDED,
        PaymentStatus.REFUNDED,
        Decimal("5000.00"),
    )
    assert kinds(order)[-2:] == ["partially_refunded", "refunded"]
    assert last_event(order).actor_id == finance_user.pk


def test_refund_by_lines_with_restock(buyer, stocked_product, finance_user):
    order = paid_order(buyer, stocked_product, quantity=3)
    item = order.items.get()

    refunded = staff.refund(
        order_id=order.pk,
        amount=None,
        lines={stocked_product.pk: 1},
        restock=True,
        reason="one returned",
        actor=finance_user,
    )

    assert (refunded.state, refunded.amount_refunded) == (
        S.PARTIALLY_REFUNDED,
        Decimal("2500.00"),
    )
    assert stock(stocked_product) == 8
    assert last_event(order).payload["restocked"] == [
        {"item_id": item.pk, "product_id": stocked_product.pk, "quantity": 1}
    ]


def test_refund_refusals(buyer, stocked_product, finance_user):
    order = paid_order(buyer, stocked_product, quantity=2)
    product = stocked_product.pk
    for code, kwargs in [
        # worth 7500.00, paid 5000.00
        ("refund_exceeds_refundable", {"amount": None, "lines": {product: 3}, "restock": False}),
        ("refund_not_allowed", {"amount": None, "lines": {product + 999: 1}, "restock": False}),
        # more units back on the shelf than were sold
        ("refund_invalid", {"amount": Decimal("100.00"), "lines": {product: 3}, "restock": True}),
        ("refund_invalid", {"amount": Decimal("100.00"), "lines": None, "restock": True}),
        ("refund_invalid", {"amount": None, "lines": None, "restock": False}),
    ]:
        assert_refused(
            code,
            lambda kwargs=kwargs: staff.refund(
                order_id=order.pk, reason="r", actor=finance_user, **kwargs
            ),
            order,
        )
    assert Refund.objects.filter(payment__order=order).count() == 0
    assert stock(stocked_product) == 8
    unpaid = placed_order(buyer, stocked_product)
    assert_refused(
        "refund_not_allowed",
        lambda: refund_money(unpaid, "1.00", finance_user),
        unpaid,
    )


def test_a_manual_refund_is_a_processed_refund_by_the_staff_user(
    buyer, stocked_product, finance_user
):
    order = paid_order(buyer, stocked_product)
    refund_money(order, "750.00", finance_user, reason="goodwill", idempotency_key="form-1")
    again = refund_money(order, "750.00", finance_user, reason="goodwill", idempotency_key="form-1")

    assert again.amount_refunded == Decimal("750.00")  # the repeated form refunded once
    refund = Refund.objects.get(payment__order=order)
    assert (refund.amount, refund.status, refund.manual, refund.requested_by_id) == (
        Decimal("750.00"),
        "processed",
        True,
        finance_user.pk,
    )
    assert staff.refundable_balance(again) == Decimal("4250.00")


def test_staff_actions_queue_the_customer_notification(buyer, stocked_product, finance_user):
    from notifications.models import Notification

    order = placed_order(buyer, stocked_product)
    staff.confirm_bank_transfer(
        order_id=order.pk, amount=order.total, reference="R", actor=finance_user
    )
    refund_money(order, "100.00", finance_user)
    keys = set(Notification.objects.values_list("dedup_key", flat=True))
    assert any(k.startswith(f"payment_received:{order.number}:paid") for k in keys)
    assert any(k.startswith(f"refund_issued:{order.number}:") for k in keys)


def test_can_refund_follows_the_state_machine(buyer, stocked_product):
    paid = PaymentStatus.PAID
    assert staff.can_refund(OrderFactory(state=S.PAID, payment_status=paid)) is True
    assert staff.can_refund(OrderFactory(state=S.DELIVERED, payment_status=paid)) is True
    assert staff.can_refund(OrderFactory(state=S.SHIPPED, payment_status=paid)) is False
    assert staff.can_refund(OrderFactory(state=S.CANCELLED, payment_status=paid)) is True
    assert staff.can_refund(OrderFactory(state=S.PENDING_PAYMENT)) is False
    refunded = OrderFactory(
        state=S.REFUNDED, payment_status=PaymentStatus.REFUNDED, amount_refunded=Decimal("5000")
    )
    assert staff.can_refund(refunded) is False
