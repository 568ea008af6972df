"""Assertions shared by the shop API tests."""

from typing import Any

from shop.models import Address, Cart, CartItem, Product, User


def db_state() -> dict[str, Any]:
    """Every row the shop API can write, so a refusal can be shown to have changed nothing."""
    return {
        "users": list(User.objects.order_by("pk").values()),
        "products": list(Product.objects.order_by("pk").values()),
        "carts": list(Cart.objects.order_by("pk").values("pk", "customer_id", "currency")),
        "items": list(
            CartItem.objects.order_by("pk").values("pk", "cart_id", "product_id", "quantity")
        ),
        "addresses": list(Address.objects.order_by("pk").values()),
    }


def assert_error(response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    assert body["error"]["code"] == code, body
    assert body["error"]["message"]
    return body["error"]
