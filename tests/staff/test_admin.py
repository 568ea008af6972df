"""The order admin: a read-only page whose buttons call the staff services."""

import re
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from orders.models import Order
from orders.states import OrderState, PaymentStatus
from tests.conftest import admin_login
from tests.factories import OrderFactory, UserFactory
from tests.staff.conftest import paid_order, placed_order

S = OrderState
pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:orders_order_changelist")


def action_url(order: Order, slug: str) -> str:
    return reverse("admin:orders_order_action", args=[order.pk, slug])


def change_url(order: Order) -> str:
    return reverse("admin:orders_order_change", args=[order.pk])


def logged_in(client, user):
    admin_login(client, user)
    return client


def post_refund_form(client, order: Order, data: dict[str, str]):
    """Fill in the refund form as a browser does: it posts the key the page was drawn with."""
    form = client.get(action_url(order, "refund")).content.decode()
    key = re.search(r'name="idempotency_key" value="([^"]+)"', form)
    assert key is not None, "the refund form carries no idempotency key"
    return client.post(action_url(order, "refund"), {**data, "idempotency_key": key[1]})


def changelist_queries(client, count: int) -> int:
    OrderFactory.create_batch(count)
    with CaptureQueriesContext(connection) as queries:
        response = client.get(CHANGELIST)
    assert response.status_code == 200
    return len(queries)


def test_changelist_query_count_does_not_grow_with_orders(client, superuser):
    logged_in(client, superuser)
    with_five = changelist_queries(client, 5)
    with_hundred = changelist_queries(client, 95)
    assert with_hundred == with_five
    assert with_hundred <= 10


def test_changelist_columns_newest_first_and_search(client, superuser):
    older = OrderFactory.create(
        customer=UserFactory.create(email="ada@example.com", phone="+2348030000001")
    )
    newer = OrderFactory.create(total=Decimal("7000.00"), subtotal=Decimal("7000.00"))
    body = logged_in(client, superuser).get(CHANGELIST).content.decode()
    assert body.index(newer.number) < body.index(older.number)
    assert "7000.00 NGN" in body
    assert "ada@example.com" in body

    for term in ["ada@example", "+2348030000001", older.number]:
        found = client.get(CHANGELIST, {"q": term}).content.decode()
        assert older.number in found
        assert newer.number not in found


def test_changelist_filters(client, superuser):
    paid = OrderFactory.create(
        state=S.PAID, payment_status=PaymentStatus.PAID, needs_attention=True
    )
    pending = OrderFactory.create(payment_method="cod")
    logged_in(client, superuser)
    for params, shown, hidden in [
        ({"state": "paid"}, paid, pending),
        ({"payment_status": "paid"}, paid, pending),
        ({"payment_method": "cod"}, pending, paid),
        ({"needs_attention__exact": "1"}, paid, pending),
    ]:
        body = client.get(CHANGELIST, params).content.decode()
        assert shown.number in body, params
        assert hidden.number not in body, params


def test_order_page_shows_the_timeline_and_only_allowed_buttons(
    client, buyer, stocked_product, superuser
):
    order = paid_order(buyer, stocked_product)
    body = logged_in(client, superuser).get(change_url(order)).content.decode()
    assert 'data-action="status-processing"' in body
    assert 'data-action="refund"' in body
    assert 'data-action="cancel"' in body
    for absent in ["status-shipped", "status-ready_for_shipment", "confirm-bank-transfer"]:
        assert f'data-action="{absent}"' not in body
    assert "Timeline (newest first)" in body
    assert body.index("paid") < body.index("placed", body.index("Timeline"))
    assert 'name="state"' not in body  # the state is never a form field
    assert "12 Admiralty Way" in body


def test_the_order_cannot_be_edited_as_a_form(client, buyer, stocked_product, superuser):
    order = paid_order(buyer, stocked_product)
    response = logged_in(client, superuser).post(change_url(order), {"state": "delivered"})
    assert response.status_code == 403
    assert Order.objects.get(pk=order.pk).state == S.PAID


def test_support_sees_fulfilment_but_no_refund_or_paid_cancel(
    client, buyer, stocked_product, support_user
):
    order = paid_order(buyer, stocked_product)
    body = logged_in(client, support_user).get(change_url(order)).content.decode()
    assert 'data-action="status-processing"' in body
    assert 'data-action="refund"' not in body
    assert 'data-action="cancel"' not in body


def test_support_cannot_refund_through_the_admin(client, buyer, stocked_product, support_user):
    order = paid_order(buyer, stocked_product)
    logged_in(client, support_user)
    assert client.get(action_url(order, "refund")).status_code == 403
    response = client.post(action_url(order, "refund"), {"amount": "100.00", "reason": "please"})
    assert response.status_code == 403
    order.refresh_from_db()
    assert (order.state, order.amount_refunded) == (S.PAID, Decimal("0.00"))


def test_finance_refunds_through_the_admin(client, buyer, stocked_product, finance_user):
    order = paid_order(buyer, stocked_product)
    logged_in(client, finance_user)
    form = client.get(action_url(order, "refund")).content.decode()
    assert "Refundable balance: <strong>5000.00 NGN</strong>" in form

    response = post_refund_form(client, order, {"amount": "1200.00", "reason": "late"})

    assert response.status_code == 302
    assert response["Location"] == change_url(order)
    order.refresh_from_db()
    assert (order.state, order.amount_refunded) == (S.PARTIALLY_REFUNDED, Decimal("1200.00"))
    event = order.events.order_by("-id").first()
    assert (event.kind, event.actor_id, event.reason) == (
        "partially_refunded",
        finance_user.pk,
        "late",
    )


def test_refund_over_the_balance_shows_the_error_and_changes_nothing(
    client, buyer, stocked_product, finance_user
):
    order = paid_order(buyer, stocked_product)
    response = post_refund_form(
        logged_in(client, finance_user), order, {"amount": "5000.01", "reason": "x"}
    )
    assert response.status_code == 200
    assert "refund_exceeds_refundable" in response.content.decode()
    order.refresh_from_db()
    assert order.amount_refunded == Decimal("0.00")


def test_shipping_from_the_admin_needs_tracking(client, buyer, stocked_product, support_user):
    order = paid_order(buyer, stocked_product)
    logged_in(client, support_user)
    client.post(action_url(order, "status-processing"), {"reason": ""})
    client.post(action_url(order, "status-ready_for_shipment"), {"reason": ""})
    missing = client.post(action_url(order, "status-shipped"), {"carrier": "GIG"})
    assert missing.status_code == 200
    assert Order.objects.get(pk=order.pk).state == S.READY_FOR_SHIPMENT

    done = client.post(
        action_url(order, "status-shipped"), {"tracking_number": "T-9", "carrier": "GIG"}
    )
    assert done.status_code == 302
    order.refresh_from_db()
    assert (order.state, order.tracking_number) == (S.SHIPPED, "T-9")


def test_finance_confirms_a_bank_transfer(client, buyer, stocked_product, finance_user):
    order = placed_order(buyer, stocked_product)
    logged_in(client, finance_user)
    partial = client.post(
        action_url(order, "confirm-bank-transfer"), {"amount": "4000.00", "reference": "R"}
    )
    assert "transfer_amount_mismatch" in partial.content.decode()
    client.post(action_url(order, "confirm-bank-transfer"), {"amount": "5000.00", "reference": "R"})
    assert Order.objects.get(pk=order.pk).state == S.PAID


def test_bulk_processing_reports_refusals(client, buyer, stocked_product, support_user):
    first, second = paid_order(buyer, stocked_product, 1), paid_order(buyer, stocked_product, 1)
    unpaid = placed_order(buyer, stocked_product, 1)
    response = logged_in(client, support_user).post(
        CHANGELIST,
        {"action": "bulk_mark_processing", "_selected_action": [first.pk, second.pk, unpaid.pk]},
        follow=True,
    )
    messages = [str(m) for m in response.context["messages"]]
    assert messages == [
        f"Marked processing: {first.number}, {second.number}.",
        f"Refused: {unpaid.number} (invalid_transition: An order in state 'pending_payment' "
        "cannot move to 'processing'.).",
    ]
    states = dict(Order.objects.values_list("pk", "state"))
    assert (states[first.pk], states[second.pk], states[unpaid.pk]) == (
        S.PROCESSING,
        S.PROCESSING,
        S.PENDING_PAYMENT,
    )


def test_refund_form_by_lines_restocks(client, buyer, stocked_product, finance_user):
    order = paid_order(buyer, stocked_product, quantity=3)
    logged_in(client, finance_user)
    form = client.get(action_url(order, "refund")).content.decode()
    line_field = f"line_{stocked_product.pk}"
    assert f'name="{line_field}"' in form
    assert 'name="idempotency_key"' in form

    no_lines = post_refund_form(client, order, {"amount": "100.00", "restock": "on", "reason": "r"})
    assert "Choose the units to put back on stock." in no_lines.content.decode()
    done = post_refund_form(client, order, {line_field: "2", "restock": "on", "reason": "returned"})

    assert done.status_code == 302
    order.refresh_from_db()
    assert order.amount_refunded == Decimal("5000.00")
    stocked_product.refresh_from_db()
    assert stocked_product.stock == 9  # 10 - 3 sold + 2 back


def test_search_by_payment_reference_and_payments_refunds_on_the_page(
    client, buyer, stocked_product, finance_user, superuser
):
    from payments.models import Payment

    order = paid_order(buyer, stocked_product)
    other = OrderFactory.create()
    Payment.objects.create(
        order=order,
        gateway="paystack",
        reference="PSK-REF-4242",
        attempt=1,
        amount=order.total,
        currency="NGN",
        status="failed",
    )
    logged_in(client, finance_user)
    post_refund_form(client, order, {"amount": "700.00", "reason": "late delivery"})

    found = client.get(CHANGELIST, {"q": "PSK-REF-4242"}).content.decode()
    assert order.number in found
    assert other.number not in found
    page = client.get(change_url(order)).content.decode()
    assert "PSK-REF-4242" in page  # the payments inline
    assert "700.00 NGN &middot; Processed (manual) &middot; late delivery" in page
    assert finance_user.email in page
