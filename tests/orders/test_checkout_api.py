from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from inventory.models import InventoryLock
from notifications.models import Notification
from orders.models import IdempotencyKey, Order, OrderEvent, OrderItem
from shop.models import Address, CartItem, Product
from shop.platform_settings import set_setting
from tests.factories import AddressFactory, ProductFactory
from tests.orders.helpers import fill_cart

pytestmark = pytest.mark.django_db


def checkout(client, body, key="key-1"):
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key is not None else {}
    return client.post("/api/checkout/", body, format="json", **headers)


def db_snapshot():
    """Everything a checkout may write, to prove a refused one wrote nothing."""
    return {
        "orders": Order.objects.count(),
        "items": OrderItem.objects.count(),
        "events": OrderEvent.objects.count(),
        "locks": list(InventoryLock.objects.values_list("owner", "product_id", "quantity")),
        "stock": list(Product.objects.order_by("pk").values_list("pk", "stock")),
        "cart": list(CartItem.objects.order_by("pk").values_list("pk", "product_id", "quantity")),
        "addresses": Address.objects.count(),
        "keys": IdempotencyKey.objects.count(),
        "notifications": Notification.objects.count(),
    }


@pytest.fixture
def address(customer):
    return AddressFactory(customer=customer, full_name="Ada Obi", line1="12 Admiralty Way")


@pytest.fixture
def cream():
    return ProductFactory(sku="CREAM-1", name="Night cream", price=Decimal("2500.00"), stock=10)


@pytest.fixture
def serum():
    return ProductFactory(sku="SERUM-1", name="Serum", price=Decimal("4000.00"), stock=3)


def test_bank_transfer_checkout_places_order_holds_stock_and_empties_cart(
    customer, customer_client, address, cream, serum
):
    fill_cart(customer, [(cream, 2), (serum, 1)])
    before = timezone.now()
    response = checkout(
        customer_client,
        {"payment_method": "bank_transfer", "address_id": address.pk, "expected_total": "9000.00"},
    )
    assert response.status_code == 201, response.json()
    body = response.json()
    order = Order.objects.get()
    assert body["number"] == order.number
    assert order.number.startswith("ORD-")
    assert len(order.number) == 14
    assert body["state"] == "pending_payment"
    assert body["payment_status"] == "not_paid"
    assert body["subtotal"] == "9000.00"
    assert body["total"] == "9000.00"
    assert [(i["sku"], i["quantity"], i["unit_price"], i["line_total"]) for i in body["items"]] == [
        ("CREAM-1", 2, "2500.00", "5000.00"),
        ("SERUM-1", 1, "4000.00", "4000.00"),
    ]
    assert body["shipping_address"]["full_name"] == "Ada Obi"
    assert body["payment"] == {
        "method": "bank_transfer",
        "action": "transfer",
        "amount": "9000.00",
        "currency": "NGN",
        "reference": order.number,
        "account": {
            "bank_name": "Demo Bank",
            "account_name": "Demo Skincare Ltd",
            "account_number": "0123456789",
        },
        "pay_before": order.expires_at.isoformat(),
    }
    # Bank-transfer locks last as long as the unpaid order (24 h by default).
    assert order.expires_at - before >= timedelta(hours=24)
    locks = list(
        InventoryLock.objects.order_by("product_id").values_list(
            "product_id", "quantity", "expires_at"
        )
    )
    assert locks == [(cream.pk, 2, order.expires_at), (serum.pk, 1, order.expires_at)]
    assert CartItem.objects.count() == 0
    assert list(order.events.values_list("kind", "from_state", "to_state", "actor_type")) == [
        ("placed", "", "pending_payment", "customer")
    ]
    assert dict(Product.objects.values_list("sku", "stock")) == {"CREAM-1": 10, "SERUM-1": 3}


def test_cod_checkout_has_nothing_to_pay_and_holds_stock_until_the_acceptance_deadline(
    customer, customer_client, address, cream
):
    """COD locks held forever until issue 15; now they expire with the order when staff do not
    accept it within checkout.cod_acceptance_hours (72)."""
    fill_cart(customer, [(cream, 1)])
    response = checkout(customer_client, {"payment_method": "cod", "address_id": address.pk})
    assert response.status_code == 201
    body = response.json()
    assert body["payment_status"] == "pending"
    assert body["payment"]["action"] == "none"
    order = Order.objects.get(pk=body["id"])
    assert order.expires_at - order.created_at == timedelta(hours=72)
    assert list(InventoryLock.objects.values_list("quantity", "expires_at")) == [
        (1, order.expires_at)
    ]


def test_new_address_is_snapshotted_and_optionally_saved(customer, customer_client, cream):
    fill_cart(customer, [(cream, 1)])
    new_address = {
        "full_name": "Bola Ade",
        "phone": "+2348030000000",
        "line1": "3 Marina",
        "city": "Lagos",
        "country": "NG",
    }
    response = checkout(
        customer_client,
        {"payment_method": "cod", "address": new_address, "save_address": True},
    )
    assert response.status_code == 201
    order = Order.objects.get()
    assert order.shipping_address == {
        **new_address,
        "line2": "",
        "state": "",
        "postal_code": "",
    }
    saved = Address.objects.get(customer=customer)
    saved.line1 = "Changed later"
    saved.save()
    order.refresh_from_db()
    assert order.shipping_address["line1"] == "3 Marina"


def test_replay_with_same_key_and_body_returns_first_response(
    customer, customer_client, address, cream
):
    fill_cart(customer, [(cream, 2)])
    body = {"payment_method": "bank_transfer", "address_id": address.pk}
    first = checkout(customer_client, body)
    fill_cart(customer, [(cream, 1)])  # a replay must not place this cart
    second = checkout(customer_client, body)
    assert second.status_code == 201
    assert second.json() == first.json()
    assert second["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    assert Order.objects.count() == 1
    assert InventoryLock.objects.count() == 1


def test_a_retry_after_the_sell_out_replays_the_order_it_placed(customer, customer_client, address):
    # The retry finds an empty cart and no stock left: the key is settled before either.
    last_one = ProductFactory(stock=1)
    fill_cart(customer, [(last_one, 1)])
    body = {"payment_method": "bank_transfer", "address_id": address.pk}
    first = checkout(customer_client, body)
    assert first.status_code == 201
    second = checkout(customer_client, body)
    assert second.status_code == 201
    assert second["Idempotent-Replayed"] == "true"
    assert second.json() == first.json()
    assert Order.objects.count() == 1


def test_a_checkout_refused_on_the_cart_leaves_no_key_behind(customer, customer_client, address):
    sold_out = ProductFactory(stock=0)
    fill_cart(customer, [(sold_out, 1)])
    response = checkout(customer_client, {"payment_method": "cod", "address_id": address.pk})
    assert response.json()["error"]["code"] == "insufficient_stock"
    assert not IdempotencyKey.objects.exists()


def test_same_key_with_another_body_is_refused(customer, customer_client, address, cream):
    fill_cart(customer, [(cream, 2)])
    checkout(customer_client, {"payment_method": "bank_transfer", "address_id": address.pk})
    fill_cart(customer, [(cream, 1)])
    before = db_snapshot()
    response = checkout(customer_client, {"payment_method": "cod", "address_id": address.pk})
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "idempotency_key_reused"
    assert db_snapshot() == before


def test_key_in_flight_answers_request_in_progress(customer, customer_client, address, cream):
    fill_cart(customer, [(cream, 1)])
    body = {"payment_method": "cod", "address_id": address.pk}
    from orders.idempotency import fingerprint

    IdempotencyKey.objects.create(customer=customer, key="key-1", fingerprint=fingerprint(body))
    before = db_snapshot()
    response = checkout(customer_client, body)
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "request_in_progress"
    assert db_snapshot() == before


def test_keys_are_per_customer_and_expire_after_24_hours(
    customer, customer_client, other_customer, other_client, address, cream
):
    other_address = AddressFactory(customer=other_customer)
    fill_cart(customer, [(cream, 1)])
    fill_cart(other_customer, [(cream, 1)])
    assert (
        checkout(customer_client, {"payment_method": "cod", "address_id": address.pk}).status_code
        == 201
    )
    assert (
        checkout(
            other_client, {"payment_method": "cod", "address_id": other_address.pk}
        ).status_code
        == 201
    )
    IdempotencyKey.objects.filter(customer=customer).update(
        created_at=timezone.now() - timedelta(hours=24, seconds=1)
    )
    fill_cart(customer, [(cream, 1)])
    again = checkout(customer_client, {"payment_method": "cod", "address_id": address.pk})
    assert again.status_code == 201
    assert "Idempotent-Replayed" not in again
    assert Order.objects.filter(customer=customer).count() == 2


@pytest.mark.parametrize(
    ("setup", "body", "key", "status", "code"),
    [
        (
            "cart",
            {"payment_method": "cod", "address_id": "ADDR"},
            None,
            400,
            "idempotency_key_required",
        ),
        (
            "cart",
            {"payment_method": "cod", "address_id": "ADDR"},
            "bad key",
            400,
            "idempotency_key_invalid",
        ),
        ("empty", {"payment_method": "cod", "address_id": "ADDR"}, "k", 400, "cart_empty"),
        (
            "cart",
            {"payment_method": "paypal", "address_id": "ADDR"},
            "k",
            400,
            "payment_method_not_allowed",
        ),
        ("cart", {"payment_method": "cod"}, "k", 400, "validation_error"),
        ("cart", {"payment_method": "cod", "address_id": 999999}, "k", 404, "address_not_found"),
        ("cart", {"payment_method": "cod", "address_id": "OTHER"}, "k", 404, "address_not_found"),
        (
            "cart",
            {"payment_method": "cod", "address_id": "ADDR", "expected_total": "100.00"},
            "k",
            409,
            "price_changed",
        ),
        ("short", {"payment_method": "cod", "address_id": "ADDR"}, "k", 409, "insufficient_stock"),
        (
            "inactive",
            {"payment_method": "cod", "address_id": "ADDR"},
            "k",
            409,
            "product_inactive",
        ),
    ],
)
def test_every_refusal_has_its_code_and_changes_nothing(
    customer, customer_client, other_customer, address, cream, setup, body, key, status, code
):
    if setup != "empty":
        fill_cart(customer, [(cream, 11 if setup == "short" else 2)])
    if setup == "inactive":
        Product.objects.filter(pk=cream.pk).update(is_active=False)
    other_address = AddressFactory(customer=other_customer)
    body = dict(body)
    if body.get("address_id") == "ADDR":
        body["address_id"] = address.pk
    elif body.get("address_id") == "OTHER":
        body["address_id"] = other_address.pk
    before = db_snapshot()
    response = checkout(customer_client, body, key=key)
    assert response.status_code == status, response.json()
    assert response.json()["error"]["code"] == code
    assert db_snapshot() == before


def test_price_changed_reports_the_current_total(customer, customer_client, address, cream):
    fill_cart(customer, [(cream, 2)])
    Product.objects.filter(pk=cream.pk).update(price=Decimal("3000.00"))
    response = checkout(
        customer_client,
        {"payment_method": "cod", "address_id": address.pk, "expected_total": "5000.00"},
    )
    assert response.status_code == 409
    assert response.json()["error"]["details"] == {
        "expected_total": "5000.00",
        "current_total": "6000.00",
        "currency": "NGN",
    }


def test_insufficient_stock_lists_requested_and_available(
    customer, customer_client, address, cream, serum
):
    fill_cart(customer, [(cream, 2), (serum, 5)])
    response = checkout(customer_client, {"payment_method": "cod", "address_id": address.pk})
    assert response.status_code == 409
    assert response.json()["error"]["details"] == {
        "products": [
            {
                "product_id": serum.pk,
                "sku": "SERUM-1",
                "name": "Serum",
                "requested": 5,
                "available": 3,
            }
        ]
    }


def test_failed_checkout_gives_the_key_back_so_a_retry_can_succeed(
    customer, customer_client, address, cream
):
    fill_cart(customer, [(cream, 11)])
    body = {"payment_method": "cod", "address_id": address.pk}
    assert checkout(customer_client, body).status_code == 409
    Product.objects.filter(pk=cream.pk).update(stock=20)
    assert checkout(customer_client, body).status_code == 201


def test_gateway_lock_ttl_comes_from_the_setting(customer, customer_client, address, cream):
    """A method using the gateway TTL holds stock for checkout.lock_ttl_minutes."""
    from orders import payment_methods as pm

    pm.register_payment_method(
        pm.PaymentMethod(
            code="fakepay",
            initial_payment_status="pending",
            order_expires_at=pm.order_expiry,
            lock_expires_at=pm.gateway_lock_expiry,
            instructions=lambda order: {"method": "fakepay"},
            start_after_commit=lambda order: {
                "method": "fakepay",
                "url": f"https://pay.test/{order.number}",
            },
            current_payment=lambda order_id: {
                "method": "fakepay",
                "url": f"https://pay.test/{Order.objects.get(pk=order_id).number}",
            },
        )
    )
    try:
        set_setting("checkout.allowed_payment_methods", ["fakepay", "cod"])
        set_setting("checkout.lock_ttl_minutes", 7)
        from shop.platform_settings import invalidate_cache

        invalidate_cache()
        fill_cart(customer, [(cream, 1)])
        before = timezone.now()
        response = checkout(
            customer_client, {"payment_method": "fakepay", "address_id": address.pk}
        )
        assert response.status_code == 201
        order = Order.objects.get()
        assert response.json()["payment"] == {
            "method": "fakepay",
            "url": f"https://pay.test/{order.number}",
        }
        lock = InventoryLock.objects.get()
        assert timedelta(minutes=7) <= lock.expires_at - before < timedelta(minutes=8)
        replay = checkout(customer_client, {"payment_method": "fakepay", "address_id": address.pk})
        assert replay.json() == response.json()
    finally:
        pm._REGISTRY.pop("fakepay", None)
        from shop.platform_settings import invalidate_cache

        invalidate_cache()  # the rolled-back rows must not live on in the shared cache


def test_new_address_with_an_invalid_phone_is_refused_and_changes_nothing(
    customer, customer_client, cream
):
    fill_cart(customer, [(cream, 1)])
    before = db_snapshot()
    response = checkout(
        customer_client,
        {
            "payment_method": "cod",
            "address": {
                "full_name": "Bola Ade",
                "phone": "12",
                "line1": "3 Marina",
                "city": "Lagos",
                "country": "NG",
            },
            "save_address": True,
        },
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "validation_error"
    assert "phone" in response.json()["error"]["details"]["fields"]["address"]
    assert db_snapshot() == before


def test_an_abandoned_claim_is_taken_over(customer, customer_client, address, cream):
    from orders.idempotency import fingerprint

    body = {"payment_method": "cod", "address_id": address.pk}
    IdempotencyKey.objects.create(
        customer=customer,
        key="key-1",
        fingerprint=fingerprint(body),
        created_at=timezone.now() - timedelta(minutes=6),
    )
    fill_cart(customer, [(cream, 1)])
    response = checkout(customer_client, body)
    assert response.status_code == 201
    assert IdempotencyKey.objects.get().status == "completed"


def test_keys_of_different_scopes_do_not_collide(customer, customer_client, address, cream):
    from orders import idempotency

    fill_cart(customer, [(cream, 1)])
    placed = checkout(customer_client, {"payment_method": "cod", "address_id": address.pk})
    assert placed.status_code == 201
    for scope, found in ((idempotency.CHECKOUT, 1), ("order_pay", 0)):
        rows = IdempotencyKey.objects.filter(customer=customer, key="key-1", scope=scope)
        assert rows.count() == found
