"""Staff refund requests: the Idempotency-Key contract, the caps on lines and restocks checked
before any gateway call, refund events matched by the gateway's refund id, and what the
customer is told."""

from __future__ import annotations

import re
import threading
from decimal import Decimal

import pytest
from django.db import connection

from notifications.models import Notification
from orders.models import Order
from payments.models import Refund
from payments.providers import GatewayEvent, RefundInfo
from payments.services import apply_gateway_event
from tests.conftest import admin_login, client_for
from tests.payments.money import deliver, paid_order, staff_refund
from tests.staff.conftest import paid_order as paid_bank_transfer_order

pytestmark = pytest.mark.django_db


def refund_url(order: Order) -> str:
    return f"/api/staff/orders/{order.pk}/refund/"


# --- Idempotency-Key -------------------------------------------------------------------------
def test_a_staff_refund_without_an_idempotency_key_is_refused(buyer, stocked_product, finance_user):
    order = paid_bank_transfer_order(buyer, stocked_product)

    response = client_for(finance_user).post(
        refund_url(order), {"amount": "100.00", "reason": "r"}, format="json"
    )

    assert (response.status_code, response.json()["error"]["code"]) == (
        400,
        "idempotency_key_required",
    )
    assert not Refund.objects.exists()


def test_the_same_key_and_body_gets_the_first_answer_and_refunds_once(
    fake_paystack, customer_client, customer, finance_user
):
    order, _, _ = paid_order(fake_paystack, customer_client, customer)
    body = {"amount": "1000.00", "reason": "dent", "customer_message": "Sorry!"}

    first = staff_refund(finance_user, order, body, key="same")
    staff_refund(finance_user, order, {"amount": "500.00", "reason": "x"}, key="other")
    again = staff_refund(finance_user, order, body, key="same")

    assert (again.status_code, again.content) == (first.status_code, first.content)
    assert len(fake_paystack.calls("POST", "/refund")) == 2
    refused = staff_refund(finance_user, order, {**body, "amount": "999.00"}, key="same")
    assert (refused.status_code, refused.json()["error"]["code"]) == (
        422,
        "idempotency_key_reused",
    )
    assert Refund.objects.count() == 2


@pytest.mark.django_db(transaction=True)
def test_the_same_key_sent_twice_at_once_refunds_once(
    fake_paystack, customer_client, customer, finance_user
):
    order, _, _ = paid_order(fake_paystack, customer_client, customer)
    fake_paystack.delay_next(1, seconds=1, path_contains="/refund")
    barrier = threading.Barrier(2)
    answers: list[tuple[int, str]] = []

    def send() -> None:
        try:
            barrier.wait(timeout=10)
            response = staff_refund(
                finance_user, order, {"amount": "1000.00", "reason": "r"}, key="race"
            )
            code = response.json().get("error", {}).get("code", "ok")
            answers.append((response.status_code, code))
        finally:
            connection.close()

    threads = [threading.Thread(target=send) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert sorted(answers) == [(200, "ok"), (409, "request_in_progress")]
    assert len(fake_paystack.calls("POST", "/refund")) == 1
    assert Refund.objects.count() == 1


def test_the_admin_form_submitted_twice_refunds_once(client, buyer, stocked_product, finance_user):
    order = paid_bank_transfer_order(buyer, stocked_product)
    admin_login(client, finance_user)
    url = f"/admin/orders/order/{order.pk}/action/refund/"
    drawn_key = re.search(
        r'name="idempotency_key" value="([^"]+)"', client.get(url).content.decode()
    )
    assert drawn_key is not None
    key = drawn_key[1]
    form = {"amount": "700.00", "reason": "late", "idempotency_key": key}

    client.post(url, form)
    again = client.post(url, form, follow=True)
    other = client.post(url, {**form, "amount": "701.00"})

    assert "this form was already submitted" in again.content.decode()
    assert "idempotency_key_reused" in other.content.decode()
    order.refresh_from_db()
    assert order.amount_refunded == Decimal("700.00")
    assert Refund.objects.count() == 1
    no_key = client.post(url, {"amount": "100.00", "reason": "late"})
    assert no_key.status_code == 200
    assert Refund.objects.count() == 1


# --- caps before the gateway -----------------------------------------------------------------
def test_refund_lines_cannot_take_more_units_than_were_ordered(
    fake_paystack, customer_client, customer, finance_user
):
    order, _, product = paid_order(fake_paystack, customer_client, customer)  # 2 units

    response = staff_refund(
        finance_user,
        order,
        {"amount": "100.00", "lines": {str(product.pk): 50}, "restock": True, "reason": "r"},
        key="k",
    )

    assert (response.status_code, response.json()["error"]["code"]) == (409, "refund_invalid")
    assert response.json()["error"]["details"]["items"][0]["refundable"] == 2
    assert fake_paystack.calls("POST", "/refund") == []
    assert not Refund.objects.exists()


def test_pending_restocks_count_against_what_can_still_be_restocked(
    fake_paystack, customer_client, customer, finance_user, django_capture_on_commit_callbacks
):
    order, _, product = paid_order(fake_paystack, customer_client, customer, quantity=3)
    product.refresh_from_db()
    stock_after_sale = product.stock

    two_back = staff_refund(
        finance_user,
        order,
        {"lines": {str(product.pk): 2}, "restock": True, "reason": "returned"},
        key="k1",
    )
    rest = staff_refund(
        finance_user, order, {"amount": "2500.00", "restock": True, "reason": "all"}, key="k2"
    )

    assert (two_back.json()["refund"]["status"], rest.json()["refund"]["status"]) == (
        "pending",
        "pending",
    )
    item = order.items.get()
    # The second restocks only the unit the first (still pending) does not already put back.
    assert Refund.objects.get(idempotency_key="k2").restock_lines == {str(item.pk): 1}
    for gateway_refund_id in list(fake_paystack.refunds):
        [processed] = fake_paystack.settle_refund(gateway_refund_id)
        deliver(processed, "paystack", django_capture_on_commit_callbacks)
    product.refresh_from_db()
    item.refresh_from_db()
    assert (product.stock, item.quantity_restocked) == (stock_after_sale + 3, 3)
    assert Order.objects.get(pk=order.pk).state == "refunded"


def test_a_full_refund_with_restock_and_no_lines_restocks_every_unit_left(
    buyer, stocked_product, finance_user
):
    order = paid_bank_transfer_order(buyer, stocked_product, quantity=3)
    staff_refund(
        finance_user,
        order,
        {"lines": {str(stocked_product.pk): 1}, "restock": True, "reason": "one back"},
        key="k1",
    )
    stocked_product.refresh_from_db()
    assert stocked_product.stock == 8

    response = staff_refund(
        finance_user, order, {"amount": "5000.00", "restock": True, "reason": "all"}, key="k2"
    )

    assert response.status_code == 200, response.content
    stocked_product.refresh_from_db()
    order.refresh_from_db()
    assert (stocked_product.stock, order.state) == (10, "refunded")
    assert order.items.get().quantity_restocked == 3


# --- refund events ---------------------------------------------------------------------------
def refund_event(payment, *, refund_id: str | None, amount: str = "1000.00", key: str = "e1"):
    return GatewayEvent(
        gateway="stripe",
        kind="refund_processed",
        event_type="refund.updated",
        event_key=key,
        reference=payment.reference,
        amount=Decimal(amount),
        currency="NGN",
        occurred_at=None,
        refund=RefundInfo(gateway_refund_id=refund_id, refund_reference=None, status="succeeded"),
    )


def test_an_event_naming_another_refund_id_does_not_settle_ours(
    fake_stripe, customer_client, customer, finance_user
):
    order, payment, _ = paid_order(fake_stripe, customer_client, customer, gateway="stripe")
    staff_refund(finance_user, order, {"amount": "1000.00", "reason": "r"}, key="k1")
    ours = Refund.objects.get()
    assert ours.gateway_refund_id.startswith("re_")

    outcome = apply_gateway_event(event=refund_event(payment, refund_id="re_dashboard"))

    assert outcome == "refund_processed"
    ours.refresh_from_db()
    dashboard = Refund.objects.get(gateway_refund_id="re_dashboard")
    assert (ours.status, dashboard.status, dashboard.origin) == ("pending", "processed", "gateway")
    assert apply_gateway_event(event=refund_event(payment, refund_id=ours.gateway_refund_id,
                                                  key="e2")) == "refund_processed"  # fmt: skip
    ours.refresh_from_db()
    assert ours.status == "processed"
    order.refresh_from_db()
    assert (order.amount_refunded, order.refund_pending) == (Decimal("2000.00"), Decimal("0.00"))


# --- what the customer reads -----------------------------------------------------------------
def test_the_customer_reads_the_message_written_for_them_not_the_internal_reason(
    buyer, stocked_product, finance_user
):
    order = paid_bank_transfer_order(buyer, stocked_product)
    other = paid_bank_transfer_order(buyer, stocked_product)

    staff_refund(
        finance_user,
        order,
        {"amount": "100.00", "reason": "customer is a pain", "customer_message": "Goodwill."},
        key="k1",
    )
    client_for(finance_user).post(
        f"/api/staff/orders/{other.pk}/cancel/",
        {"reason": "fraud suspected", "customer_message": "We could not ship your order."},
        format="json",
    )

    emails = Notification.objects.filter(
        channel="email", template__in=("refund_issued", "order_cancelled")
    )
    messages = {n.template: n.context for n in emails}
    assert messages["refund_issued"]["message"] == "Goodwill."
    assert messages["order_cancelled"]["reason"] == "We could not ship your order."
    assert "pain" not in str(messages)
    assert "fraud" not in str(messages)


def test_a_cod_order_is_accepted_through_the_status_endpoint(buyer, stocked_product, support_user):
    from tests.staff.conftest import placed_order

    order = placed_order(buyer, stocked_product, method="cod")
    client = client_for(support_user)
    assert client.get(f"/api/staff/orders/{order.pk}/").json()["status_targets"] == ["processing"]

    response = client.post(
        f"/api/staff/orders/{order.pk}/status/", {"to_state": "processing"}, format="json"
    )

    assert response.status_code == 200, response.content
    assert response.json()["state"] == "processing"
    refused = client.post(
        f"/api/staff/orders/{order.pk}/status/", {"to_state": "shipped"}, format="json"
    )
    assert (refused.status_code, refused.json()["error"]["details"]["allowed"]) == (
        409,
        ["ready_for_shipment"],
    )
