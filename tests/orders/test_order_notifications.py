"""Order events queue the customer's messages (and staff alerts) exactly once, atomically."""

from decimal import Decimal

import pytest
from django.db import transaction

from inventory.errors import InsufficientStock
from notifications.models import Notification
from orders.errors import InvalidTransition
from orders.services import (
    accept_cash_on_delivery,
    cancel_order,
    mark_paid,
    mark_payment_failed,
    mark_ready_for_shipment,
    mark_shipped,
    open_dispute,
    refund_order,
    start_processing,
)
from orders.states import ActorType
from tests.factories import ProductFactory, StaffFactory, UserFactory
from tests.orders.helpers import fill_cart, place

pytestmark = pytest.mark.django_db


def queued(order_number: str) -> list[tuple[str, str, str]]:
    return sorted(
        Notification.objects.filter(dedup_key__contains=f":{order_number}:").values_list(
            "template", "channel", "recipient"
        )
    )


@pytest.fixture
def buyer():
    return UserFactory(email="ada@example.com", phone="+2348031234567", first_name="Ada")


@pytest.fixture
def cream():
    return ProductFactory(name="Shea Butter Cream", price=Decimal("12500.00"), stock=5)


def test_bank_transfer_checkout_emails_and_texts_the_payment_instructions(buyer, cream):
    placed = place(buyer, [(cream, 2)], payment_method="bank_transfer")
    number = placed.order.number

    assert queued(number) == [
        ("order_placed", "email", "ada@example.com"),
        ("order_placed", "sms", "+2348031234567"),
    ]
    email = Notification.objects.get(channel="email", dedup_key__contains=number)
    assert email.context["total"] == "25000.00"
    assert email.context["items"] == [
        {"name": "Shea Butter Cream", "quantity": 2, "unit_price": "12500.00",
         "line_total": "25000.00"}
    ]  # fmt: skip
    assert email.context["payment_instructions"]["reference"] == number
    assert email.context["payment_instructions"]["account_number"] == "0123456789"


def test_a_customer_who_opted_out_of_sms_gets_email_only(cream):
    buyer = UserFactory(phone="+2348031234567", sms_opt_out=True)
    placed = place(buyer, [(cream, 1)], payment_method="cod")
    assert [c for _, c, _ in queued(placed.order.number)] == ["email"]


def test_a_checkout_that_rolls_back_leaves_no_notification(buyer, cream):
    def place_then_fail():
        with transaction.atomic():
            place(buyer, [(cream, 1)])
            assert Notification.objects.count() == 2  # queued inside the transaction…
            raise RuntimeError("the surrounding transaction fails after the order was written")

    with pytest.raises(RuntimeError):
        place_then_fail()
    assert Notification.objects.count() == 0  # …and gone with it


def test_refused_checkout_queues_nothing(buyer, cream):
    fill_cart(buyer, [(cream, 6)])  # only 5 in stock
    with pytest.raises(InsufficientStock):
        place(buyer, [(cream, 6)])
    assert Notification.objects.count() == 0


def test_each_milestone_notifies_once_even_when_its_service_is_retried(buyer, cream):
    staff = StaffFactory()
    order = place(buyer, [(cream, 1)], payment_method="bank_transfer").order

    mark_paid(order_id=order.pk, amount=order.total, currency="NGN")
    with pytest.raises(InvalidTransition, match="cannot move to 'paid'"):
        mark_paid(order_id=order.pk, amount=order.total, currency="NGN")  # a retried webhook
    start_processing(order_id=order.pk, actor=staff)
    mark_ready_for_shipment(order_id=order.pk, actor=staff)
    mark_shipped(order_id=order.pk, tracking_number="GIG123", carrier="GIG", actor=staff)

    templates = [t for t, channel, _ in queued(order.number) if channel == "email"]
    assert templates == ["order_placed", "order_shipped", "payment_received"]
    shipped = Notification.objects.get(template="order_shipped", channel="email")
    assert shipped.context["tracking_number"] == "GIG123"


def test_every_partial_refund_is_its_own_message(buyer, cream):
    order = place(buyer, [(cream, 2)], payment_method="bank_transfer").order
    mark_paid(order_id=order.pk, amount=order.total, currency="NGN")
    refund_order(order_id=order.pk, amount=Decimal("5000.00"), actor_type=ActorType.STAFF)
    refund_order(order_id=order.pk, amount=Decimal("7500.00"), actor_type=ActorType.STAFF)

    amounts = sorted(
        Notification.objects.filter(template="refund_issued", channel="email").values_list(
            "context__amount", flat=True
        )
    )
    assert amounts == ["5000.00", "7500.00"]


def test_failed_payment_sends_a_retry_link(buyer, cream):
    order = place(buyer, [(cream, 1)], payment_method="bank_transfer").order
    mark_payment_failed(order_id=order.pk, reason="card declined")
    failed = Notification.objects.get(template="payment_failed", channel="email")
    assert failed.context["retry_url"].endswith(f"/orders/{order.number}/pay")


def test_cancellation_tells_the_customer(buyer, cream):
    order = place(buyer, [(cream, 1)], payment_method="bank_transfer").order
    cancel_order(
        order_id=order.pk, actor_type=ActorType.CUSTOMER, actor=buyer, reason="changed mind"
    )
    assert ("order_cancelled", "email", "ada@example.com") in queued(order.number)


def test_cod_acceptance_sends_nothing_extra(buyer, cream):
    order = place(buyer, [(cream, 1)], payment_method="cod").order
    accept_cash_on_delivery(order_id=order.pk, actor=StaffFactory())
    assert {t for t, _, _ in queued(order.number)} == {"order_placed"}


def test_a_dispute_alerts_staff(buyer, cream, settings):
    settings.SHOP_STAFF_ALERT_EMAILS = ["ops@example.com"]
    order = place(buyer, [(cream, 1)], payment_method="bank_transfer").order
    mark_paid(order_id=order.pk, amount=order.total, currency="NGN")
    open_dispute(order_id=order.pk, reason="fraudulent")

    alert = Notification.objects.get(template="dispute_opened")
    assert alert.recipient == "ops@example.com"
    assert alert.context["admin_url"].endswith(f"/admin/orders/order/{order.pk}/change/")
