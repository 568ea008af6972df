"""A refund reaches the gateway only when the order can record it: one rule, decided under the
order lock before the gateway call, in the service, the staff API and every admin URL."""

from __future__ import annotations

from decimal import Decimal

import pytest

from backoffice import services as staff
from core.errors import DomainError
from orders.models import Order
from orders.states import OrderState
from payments.models import Refund
from tests.conftest import admin_login
from tests.payments.money import deliver, paid_order, staff_refund
from tests.staff.conftest import paid_order as paid_bank_transfer_order

S = OrderState
pytestmark = pytest.mark.django_db


def move(order: Order, *steps: str, actor) -> Order:
    for step in steps:
        options = {"tracking_number": "TRK1", "carrier": "GIG"} if step == S.SHIPPED else {}
        staff.update_order_status(order_id=order.pk, to_state=step, actor=actor, **options)
    moved: Order = Order.objects.get(pk=order.pk)
    return moved


@pytest.mark.parametrize(
    ("steps", "reason"),
    [
        ([S.PROCESSING], "cancel_instead"),
        ([S.PROCESSING, S.READY_FOR_SHIPMENT], "cancel_instead"),
        ([S.PROCESSING, S.READY_FOR_SHIPMENT, S.SHIPPED], "in_delivery"),
        ([S.PROCESSING, S.READY_FOR_SHIPMENT, S.SHIPPED, S.IN_TRANSIT], "in_delivery"),
    ],
)
def test_an_order_being_prepared_or_delivered_is_not_refunded_and_no_money_moves(
    fake_paystack, customer_client, customer, finance_user, superuser, steps, reason
):
    order, _, _ = paid_order(fake_paystack, customer_client, customer)
    order = move(order, *steps, actor=superuser)

    response = staff_refund(finance_user, order, {"amount": "1000.00", "reason": "r"}, key="k")

    assert (response.status_code, response.json()["error"]["code"]) == (409, "refund_not_allowed")
    assert response.json()["error"]["details"]["reason"] == reason
    assert fake_paystack.calls("POST", "/refund") == []
    assert not Refund.objects.exists()
    order.refresh_from_db()
    assert (order.amount_refunded, order.refund_pending) == (Decimal("0.00"), Decimal("0.00"))


def test_the_hidden_admin_refund_button_refuses_a_posted_form(
    client, fake_paystack, customer_client, customer, finance_user, superuser
):
    order, _, _ = paid_order(fake_paystack, customer_client, customer)
    order = move(order, S.PROCESSING, actor=superuser)
    admin_login(client, finance_user)
    page = client.get(f"/admin/orders/order/{order.pk}/change/").content.decode()
    assert 'data-action="refund"' not in page

    response = client.post(
        f"/admin/orders/order/{order.pk}/action/refund/",
        {"amount": "1000.00", "reason": "forged", "idempotency_key": "forged-1"},
    )

    assert response.status_code == 200
    assert "refund is not available" in response.content.decode()
    assert fake_paystack.calls("POST", "/refund") == []
    assert not Refund.objects.exists()


def test_processing_is_refunded_by_cancelling_it(
    fake_paystack, customer_client, customer, finance_user, superuser
):
    order, _, _ = paid_order(fake_paystack, customer_client, customer)
    order = move(order, S.PROCESSING, actor=superuser)

    staff.cancel_order(order_id=order.pk, actor=finance_user, reason="r", allow_refund=True)

    order.refresh_from_db()
    refund = Refund.objects.get()
    assert (order.state, refund.amount, refund.status) == ("cancelled", order.total, "pending")
    assert order.refund_pending == order.total


def test_a_full_refund_pending_stops_the_order_from_being_prepared(
    fake_paystack, customer_client, customer, finance_user, superuser
):
    order, _, _ = paid_order(fake_paystack, customer_client, customer)
    staff_refund(finance_user, order, {"amount": "5000.00", "reason": "r"}, key="k")

    with pytest.raises(DomainError) as refused:
        move(order, S.PROCESSING, actor=superuser)

    assert refused.value.code == "refund_pending"
    assert Order.objects.get(pk=order.pk).state == S.PAID


def test_a_refund_confirmed_after_the_order_moved_on_is_still_booked(
    fake_paystack,
    customer_client,
    customer,
    finance_user,
    superuser,
    django_capture_on_commit_callbacks,
):
    order, _, _ = paid_order(fake_paystack, customer_client, customer)
    staff_refund(finance_user, order, {"amount": "1000.00", "reason": "r"}, key="k")
    order = move(order, S.PROCESSING, actor=superuser)  # a partial refund does not stop it
    [gateway_refund_id] = fake_paystack.refunds

    [processed] = fake_paystack.settle_refund(gateway_refund_id)
    deliver(processed, "paystack", django_capture_on_commit_callbacks)

    order.refresh_from_db()
    assert (order.state, order.payment_status, order.amount_refunded, order.refund_pending) == (
        S.PROCESSING,
        "partially_refunded",
        Decimal("1000.00"),
        Decimal("0.00"),
    )
    last_event = order.events.order_by("-id").first()
    assert last_event is not None
    assert last_event.kind == "refund_recorded"


def test_a_late_return_of_an_archived_order_is_refunded(buyer, stocked_product, finance_user):
    order = paid_bank_transfer_order(buyer, stocked_product)
    for step in (S.PROCESSING, S.READY_FOR_SHIPMENT, S.SHIPPED, S.DELIVERED, S.ARCHIVED):
        options = {"tracking_number": "T", "carrier": "C"} if step == S.SHIPPED else {}
        staff.update_order_status(order_id=order.pk, to_state=step, actor=finance_user, **options)

    staff.refund(
        order_id=order.pk,
        amount=Decimal("2500.00"),
        lines={stocked_product.pk: 1},
        restock=True,
        reason="returned after 4 months",
        actor=finance_user,
    )

    order.refresh_from_db()
    stocked_product.refresh_from_db()
    assert (order.state, order.payment_status, order.amount_refunded) == (
        S.ARCHIVED,
        "partially_refunded",
        Decimal("2500.00"),
    )
    assert stocked_product.stock == 9


@pytest.mark.parametrize(
    ("state", "allowed"),
    [
        (S.PAID, True),
        (S.PROCESSING, False),
        (S.READY_FOR_SHIPMENT, False),
        (S.SHIPPED, False),
        (S.IN_TRANSIT, False),
        (S.DELIVERED, True),
        (S.PARTIALLY_REFUNDED, True),
        (S.CANCELLED, True),
        (S.ARCHIVED, True),
        (S.DISPUTED, False),
    ],
)
def test_the_button_follows_the_same_rule_as_the_service(state, allowed):
    from orders.services import refund_refusal
    from tests.factories import OrderFactory

    order = OrderFactory.create(state=state, payment_status="paid")
    assert staff.can_refund(order) is allowed
    assert (refund_refusal(order) is None) is allowed
