from decimal import Decimal

import pytest

from inventory.selectors import get_available_stock
from orders import services
from orders.models import Order, OrderEvent
from tests.factories import ProductFactory, StaffFactory
from tests.orders.helpers import place

pytestmark = pytest.mark.django_db


def test_list_shows_own_orders_newest_first_and_filters_by_state(
    customer, customer_client, other_customer
):
    product = ProductFactory(stock=50, price=Decimal("1000.00"))
    first = place(customer, [(product, 1)]).order
    second = place(customer, [(product, 2)]).order
    place(other_customer, [(product, 1)])
    services.mark_paid(order_id=first.pk, amount=Decimal("1000.00"), currency="NGN")

    response = customer_client.get("/api/orders/")
    assert response.status_code == 200
    body = response.json()
    assert body["count"] == 2
    assert [(o["number"], o["state"], o["total"], o["item_count"]) for o in body["results"]] == [
        (second.number, "pending_payment", "2000.00", 1),
        (first.number, "paid", "1000.00", 1),
    ]
    paid = customer_client.get("/api/orders/?state=paid").json()
    assert [o["number"] for o in paid["results"]] == [first.number]
    bad = customer_client.get("/api/orders/?state=lost")
    assert bad.status_code == 400
    assert bad.json()["error"]["code"] == "validation_error"


def test_list_is_paginated(customer, customer_client):
    product = ProductFactory(stock=50)
    for _ in range(3):
        place(customer, [(product, 1)])
    body = customer_client.get("/api/orders/?page_size=2").json()
    assert (body["count"], len(body["results"]), body["next"] is not None) == (3, 2, True)


def test_detail_has_items_totals_address_payment_and_customer_safe_timeline(
    customer, customer_client
):
    product = ProductFactory(sku="CREAM", stock=5, price=Decimal("2500.00"))
    order = place(customer, [(product, 2)]).order
    services.flag_order(order_id=order.pk, reason="suspicious address")
    services.mark_paid(order_id=order.pk, amount=Decimal("5000.00"), currency="NGN")
    staff = StaffFactory()
    services.start_processing(order_id=order.pk, actor=staff, reason="internal note")

    response = customer_client.get(f"/api/orders/{order.pk}/")
    assert response.status_code == 200
    body = response.json()
    assert body["number"] == order.number
    assert [(i["sku"], i["quantity"], i["line_total"]) for i in body["items"]] == [
        ("CREAM", 2, "5000.00")
    ]
    assert (body["subtotal"], body["total"]) == ("5000.00", "5000.00")
    assert body["shipping_address"]["city"] == "Lagos"
    assert body["payment"] == {
        "method": "bank_transfer",
        "status": "paid",
        "amount": "5000.00",
        "amount_refunded": "0.00",
        "currency": "NGN",
        "instructions": None,
    }
    assert [(e["kind"], e["state"]) for e in body["timeline"]] == [
        ("placed", "pending_payment"),
        ("paid", "paid"),
        ("processing_started", "processing"),
    ]
    assert "suspicious" not in response.content.decode()
    assert "internal note" not in response.content.decode()


def test_unpaid_bank_transfer_detail_repeats_the_instructions(customer, customer_client):
    order = place(customer, [(ProductFactory(stock=5), 1)]).order
    payment = customer_client.get(f"/api/orders/{order.pk}/").json()["payment"]
    assert payment["instructions"]["reference"] == order.number


def test_another_customers_order_is_not_found(customer, other_client):
    order = place(customer, [(ProductFactory(stock=5), 1)]).order
    for response in (
        other_client.get(f"/api/orders/{order.pk}/"),
        other_client.post(f"/api/orders/{order.pk}/cancel/", {}, format="json"),
    ):
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "not_found"
    assert Order.objects.get(pk=order.pk).state == "pending_payment"


def test_cancel_unpaid_order_releases_stock(customer, customer_client):
    product = ProductFactory(stock=3)
    order = place(customer, [(product, 3)]).order
    assert get_available_stock(product.pk) == 0
    response = customer_client.post(
        f"/api/orders/{order.pk}/cancel/", {"reason": "changed my mind"}, format="json"
    )
    assert response.status_code == 200
    assert response.json()["state"] == "cancelled"
    assert get_available_stock(product.pk) == 3
    event = OrderEvent.objects.filter(order=order).last()
    assert (event.kind, event.actor_type, event.actor_id, event.reason) == (
        "cancelled",
        "customer",
        customer.pk,
        "changed my mind",
    )


def test_cancel_paid_order_is_refused_and_changes_nothing(customer, customer_client):
    product = ProductFactory(stock=3, price=Decimal("1000.00"))
    order = place(customer, [(product, 1)]).order
    services.mark_paid(order_id=order.pk, amount=Decimal("1000.00"), currency="NGN")
    events = OrderEvent.objects.count()
    response = customer_client.post(f"/api/orders/{order.pk}/cancel/", {}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "order_not_cancellable"
    assert Order.objects.get(pk=order.pk).state == "paid"
    assert OrderEvent.objects.count() == events


def test_cancelling_twice_is_refused(customer, customer_client):
    order = place(customer, [(ProductFactory(stock=3), 1)]).order
    customer_client.post(f"/api/orders/{order.pk}/cancel/", {}, format="json")
    response = customer_client.post(f"/api/orders/{order.pk}/cancel/", {}, format="json")
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "order_not_cancellable"


def test_endpoints_require_authentication(api_client):
    for response in (
        api_client.get("/api/orders/"),
        api_client.post("/api/checkout/", {}, format="json", HTTP_IDEMPOTENCY_KEY="k"),
    ):
        assert response.status_code == 401


def test_order_detail_and_list_query_counts_do_not_grow_with_items(customer, customer_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    small = place(customer, [(ProductFactory(stock=5), 1)]).order
    big = place(customer, [(ProductFactory(stock=5), 1) for _ in range(15)]).order
    counts = []
    for order in (small, big):
        with CaptureQueriesContext(connection) as captured:
            assert customer_client.get(f"/api/orders/{order.pk}/").status_code == 200
        counts.append(len(captured))
    assert counts[0] == counts[1] <= 4  # token, order, items, events
    with CaptureQueriesContext(connection) as listing:
        assert customer_client.get("/api/orders/").status_code == 200
    assert len(listing) <= 3  # token, count, page
