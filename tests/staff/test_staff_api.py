"""The staff order API: token auth, group rules, the same services as the admin."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group, Permission
from django.test import override_settings
from django.utils import timezone

from orders.models import Order
from orders.states import OrderState, PaymentStatus
from payments.models import Refund
from tests.conftest import admin_login, client_for
from tests.factories import OrderFactory, UserFactory
from tests.staff.conftest import paid_order, placed_order

S = OrderState
pytestmark = pytest.mark.django_db


def url(order_id: int, action: str = "") -> str:
    return f"/api/staff/orders/{order_id}/{action + '/' if action else ''}"


def error_code(response) -> str:
    return response.json()["error"]["code"]


def test_anonymous_is_401_and_customers_are_403(api_client, customer, buyer, stocked_product):
    order = paid_order(buyer, stocked_product)
    assert api_client.get("/api/staff/orders/").status_code == 401
    assert error_code(api_client.get("/api/staff/orders/")) == "not_authenticated"
    as_customer = client_for(customer)
    for response in [
        as_customer.get("/api/staff/orders/"),
        as_customer.get(url(order.pk)),
        as_customer.post(url(order.pk, "refund"), {"amount": "1.00", "reason": "x"}, "json"),
        as_customer.get(url(999_999)),  # 403 before 404: ids leak nothing
    ]:
        assert response.status_code == 403
        assert error_code(response) == "permission_denied"


def test_staff_without_a_group_is_403(buyer, stocked_product):
    staff_without_group = UserFactory(is_staff=True)
    response = client_for(staff_without_group).get("/api/staff/orders/")
    assert (response.status_code, error_code(response)) == (403, "permission_denied")


def test_support_cannot_refund_through_the_api(buyer, stocked_product, support_user):
    order = paid_order(buyer, stocked_product)
    response = client_for(support_user).post(
        url(order.pk, "refund"), {"amount": "100.00", "reason": "asked"}, format="json"
    )
    assert (response.status_code, error_code(response)) == (403, "permission_denied")
    assert response.json()["error"]["details"] == {"permission": "orders.refund_order"}
    order.refresh_from_db()
    assert (order.state, order.amount_refunded) == (S.PAID, Decimal("0.00"))


def test_finance_refunds_by_amount_and_lines(buyer, stocked_product, finance_user):
    order = paid_order(buyer, stocked_product, quantity=2)
    client = client_for(finance_user)

    by_amount = client.post(
        url(order.pk, "refund"),
        {"amount": "500.00", "reason": "dent"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="by-amount",
    )
    assert by_amount.status_code == 200
    assert by_amount.json()["refundable_balance"] == "4500.00"

    by_lines = client.post(
        url(order.pk, "refund"),
        {"lines": {str(stocked_product.pk): 1}, "restock": True, "reason": "returned"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="by-lines",
    )
    body = by_lines.json()
    assert (body["state"], body["amount_refunded"], body["refundable_balance"]) == (
        "partially_refunded",
        "3000.00",
        "2000.00",
    )
    assert [e["kind"] for e in body["timeline"][:2]] == [
        "partially_refunded",
        "partially_refunded",
    ]
    assert body["timeline"][0]["actor_email"] == finance_user.email

    too_much = client.post(
        url(order.pk, "refund"),
        {"amount": "2000.01", "reason": "x"},
        format="json",
        HTTP_IDEMPOTENCY_KEY="too-much",
    )
    assert (too_much.status_code, error_code(too_much)) == (409, "refund_exceeds_refundable")
    empty = client.post(
        url(order.pk, "refund"), {"reason": "x"}, format="json", HTTP_IDEMPOTENCY_KEY="empty"
    )
    assert (empty.status_code, error_code(empty)) == (400, "validation_error")


def test_support_moves_an_order_to_shipped(buyer, stocked_product, support_user):
    order = paid_order(buyer, stocked_product)
    client = client_for(support_user)
    for state in ["processing", "ready_for_shipment"]:
        response = client.post(url(order.pk, "status"), {"to_state": state}, format="json")
        assert response.json()["state"] == state
    missing = client.post(url(order.pk, "status"), {"to_state": "shipped"}, format="json")
    assert (missing.status_code, error_code(missing)) == (400, "tracking_required")
    shipped = client.post(
        url(order.pk, "status"),
        {"to_state": "shipped", "tracking_number": "TRK1", "carrier": "DHL", "reason": "out"},
        format="json",
    )
    body = shipped.json()
    assert (body["state"], body["tracking_number"], body["carrier"]) == ("shipped", "TRK1", "DHL")
    assert body["status_targets"] == ["in_transit", "delivered"]
    wrong = client.post(url(order.pk, "status"), {"to_state": "processing"}, format="json")
    assert (wrong.status_code, error_code(wrong)) == (409, "invalid_transition")


def test_cancel_rules_by_group(buyer, stocked_product, support_user, finance_user):
    unpaid, paid = placed_order(buyer, stocked_product), paid_order(buyer, stocked_product)
    support = client_for(support_user)
    assert support.post(url(unpaid.pk, "cancel"), {"reason": "dup"}, "json").status_code == 200
    refused = support.post(url(paid.pk, "cancel"), {"reason": "dup"}, format="json")
    assert (refused.status_code, error_code(refused)) == (403, "permission_denied")
    assert Order.objects.get(pk=paid.pk).state == S.PAID

    cancelled = client_for(finance_user).post(url(paid.pk, "cancel"), {"reason": "x"}, "json")
    assert (cancelled.json()["state"], cancelled.json()["payment_status"]) == (
        "cancelled",
        "refunded",
    )


def test_confirm_bank_transfer_through_the_api(buyer, stocked_product, finance_user):
    order = placed_order(buyer, stocked_product)
    client = client_for(finance_user)
    partial = client.post(
        url(order.pk, "confirm-bank-transfer"), {"amount": "2500.00", "reference": "R"}, "json"
    )
    assert (partial.status_code, error_code(partial)) == (409, "transfer_amount_mismatch")
    assert partial.json()["error"]["details"]["expected"] == {
        "amount": "5000.00",
        "currency": "NGN",
    }
    ok = client.post(
        url(order.pk, "confirm-bank-transfer"), {"amount": "5000.00", "reference": "R"}, "json"
    )
    assert (ok.status_code, ok.json()["state"]) == (200, "paid")


def test_cod_through_the_api(buyer, stocked_product, support_user, finance_user):
    order = placed_order(buyer, stocked_product, method="cod")
    support, finance = client_for(support_user), client_for(finance_user)
    assert support.post(url(order.pk, "accept-cod"), {}, "json").json()["state"] == "processing"
    denied = support.post(url(order.pk, "cash-collected"), {"amount": "5000.00"}, "json")
    assert denied.status_code == 403
    collected = finance.post(url(order.pk, "cash-collected"), {"amount": "5000.00"}, "json")
    assert collected.json()["payment_status"] == "paid"

    refused_order = placed_order(buyer, stocked_product, method="cod")
    support.post(url(refused_order.pk, "accept-cod"), {}, "json")
    support.post(url(refused_order.pk, "status"), {"to_state": "ready_for_shipment"}, "json")
    support.post(
        url(refused_order.pk, "status"),
        {"to_state": "shipped", "tracking_number": "T", "carrier": "C"},
        "json",
    )
    refused = support.post(url(refused_order.pk, "delivery-refused"), {"reason": "no"}, "json")
    assert refused.json()["state"] == "cancelled"


def test_list_filters_and_search(support_user):
    now = timezone.now()
    old = OrderFactory(created_at=now - timedelta(days=10), payment_method="cod")
    flagged = OrderFactory(
        state=S.PAID,
        payment_status=PaymentStatus.PAID,
        needs_attention=True,
        customer=UserFactory(email="zed@example.com"),
    )
    client = client_for(support_user)

    def numbers(**params) -> list[str]:
        response = client.get("/api/staff/orders/", params)
        assert response.status_code == 200, response.json()
        return [o["number"] for o in response.json()["results"]]

    assert numbers() == [flagged.number, old.number]
    assert numbers(state="paid") == [flagged.number]
    assert numbers(payment_status="not_paid") == [old.number]
    assert numbers(payment_method="cod") == [old.number]
    assert numbers(needs_attention="true") == [flagged.number]
    assert numbers(needs_attention="false") == [old.number]
    assert numbers(created_to=(now - timedelta(days=5)).date().isoformat()) == [old.number]
    assert numbers(created_from=(now - timedelta(days=1)).date().isoformat()) == [flagged.number]
    assert numbers(search="zed@") == [flagged.number]
    bad = client.get("/api/staff/orders/", {"state": "nope"})
    assert (bad.status_code, error_code(bad)) == (400, "validation_error")


def test_detail_for_staff_and_404(buyer, stocked_product, support_user):
    order = paid_order(buyer, stocked_product)
    client = client_for(support_user)
    body = client.get(url(order.pk)).json()
    assert (body["number"], body["customer_email"], body["refundable_balance"]) == (
        order.number,
        buyer.email,
        "5000.00",
    )
    assert [e["kind"] for e in body["timeline"]] == ["paid", "placed"]
    assert body["status_targets"] == ["processing"]
    missing = client.get(url(999_999))
    assert (missing.status_code, error_code(missing)) == (404, "not_found")
    assert client.post(url(999_999, "cancel"), {"reason": "x"}, "json").status_code == 404


def test_the_groups_hold_exactly_their_permissions(staff_groups):
    def perms(name: str) -> set[str]:
        group = Group.objects.get(name=name)
        return {
            f"{p.content_type.app_label}.{p.codename}"
            for p in Permission.objects.filter(group=group).select_related("content_type")
        }

    view = {
        "orders.view_order",
        "orders.view_orderitem",
        "orders.view_orderevent",
        "payments.view_payment",
        "payments.view_refund",
        "payments.view_dispute",
    }
    assert perms("Support") == view | {"orders.fulfil_order", "orders.cancel_unpaid_order"}
    assert perms("Finance") == view | {
        "orders.refund_order",
        "orders.confirm_bank_transfer",
        "orders.record_cash_collected",
        "orders.cancel_unpaid_order",
    }


@override_settings(THROTTLE_STAFF_RATE="2/min")
def test_staff_actions_are_throttled_per_staff_user(
    client, buyer, stocked_product, support_user, ratelimit_clock
):
    order = paid_order(buyer, stocked_product)
    api = client_for(support_user)
    assert [api.get(url(order.pk)).status_code for _ in range(2)] == [200, 200]
    blocked = api.post(url(order.pk, "status"), {"to_state": "processing"}, format="json")
    assert (blocked.status_code, error_code(blocked)) == (429, "throttled")
    assert Order.objects.get(pk=order.pk).state == S.PAID

    ratelimit_clock.advance(60)
    admin_login(client, support_user)
    admin_action = f"/admin/orders/order/{order.pk}/action/status-processing/"
    assert client.get(admin_action).status_code == 200  # showing the form does not count
    statuses = [client.post(admin_action, {"reason": ""}).status_code for _ in range(3)]
    assert statuses == [302, 200, 429]  # done, refused by the state machine, throttled


@pytest.mark.django_db(transaction=True)
def test_unknown_orders_are_404_outside_a_test_transaction(support_user, staff_groups):
    # Autocommit, as in production: no lookup may need a surrounding transaction.
    client = client_for(support_user)
    for action, body in [("cancel", {"reason": "x"}), ("accept-cod", {}), ("status", {})]:
        response = client.post(url(999_999, action), body, format="json")
        assert (response.status_code, error_code(response)) == (404, "not_found"), action


def test_support_cancels_an_accepted_cod_order_whose_cash_was_not_collected(
    buyer, stocked_product, support_user
):
    order = placed_order(buyer, stocked_product, quantity=2, method="cod")
    support = client_for(support_user)
    support.post(url(order.pk, "accept-cod"), {}, "json")

    response = support.post(url(order.pk, "cancel"), {"reason": "customer changed mind"}, "json")

    assert response.status_code == 200
    assert (response.json()["state"], response.json()["payment_status"]) == (
        "cancelled",
        "pending",
    )
    stocked_product.refresh_from_db()
    assert stocked_product.stock == 10
    assert not Refund.objects.filter(payment__order=order).exists()


@pytest.mark.parametrize(
    "key", ["k" * 65, "two words", "clé"], ids=["longer than 64", "space", "not ascii"]
)
def test_a_refund_with_an_unusable_idempotency_key_is_refused_and_moves_no_money(
    buyer, stocked_product, finance_user, key
):
    order = paid_order(buyer, stocked_product)

    response = client_for(finance_user).post(
        url(order.pk, "refund"),
        {"amount": "100.00", "reason": "dent"},
        format="json",
        HTTP_IDEMPOTENCY_KEY=key,
    )

    assert (response.status_code, error_code(response)) == (400, "idempotency_key_invalid")
    assert response.json()["error"]["details"] == {"max_length": 64}
    order.refresh_from_db()
    assert (order.state, order.amount_refunded) == (S.PAID, Decimal("0.00"))
    assert not Refund.objects.filter(payment__order=order).exists()


def test_a_refund_key_of_64_characters_is_kept_and_repeats_return_the_first_refund(
    buyer, stocked_product, finance_user
):
    order = paid_order(buyer, stocked_product)
    client = client_for(finance_user)
    key = "r" * 64

    for _ in range(2):
        response = client.post(
            url(order.pk, "refund"),
            {"amount": "100.00", "reason": "dent"},
            format="json",
            HTTP_IDEMPOTENCY_KEY=key,
        )
        assert response.status_code == 200

    order.refresh_from_db()
    assert order.amount_refunded == Decimal("100.00")
    assert list(
        Refund.objects.filter(payment__order=order).values_list("idempotency_key", flat=True)
    ) == [key]


@pytest.mark.parametrize(
    ("action", "body", "staff"),
    [
        ("status", '{"to_state": "\\ud800"}', "support_user"),
        ("refund", '{"reason": "r", "lines": {"\\ud800": "x"}}', "finance_user"),
    ],
    ids=["choice echoed back", "dict key echoed back"],
)
def test_a_lone_surrogate_echoed_in_a_validation_error_is_still_answered(
    buyer, stocked_product, request, action, body, staff
):
    order = paid_order(buyer, stocked_product)

    response = client_for(request.getfixturevalue(staff)).post(
        url(order.pk, action), body, content_type="application/json", HTTP_IDEMPOTENCY_KEY="k1"
    )

    assert (response.status_code, error_code(response)) == (400, "validation_error")
    assert b"\\ud800" in response.content  # escaped: a lone surrogate has no UTF-8 form
    order.refresh_from_db()
    assert (order.state, order.amount_refunded) == (S.PAID, Decimal("0.00"))
