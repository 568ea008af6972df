"""Reads shared by several callers, always scoped to the customer who asks."""

from typing import TypedDict

from django.db.models import Q, QuerySet
from django.db.models.expressions import Combinable
from django.utils import timezone
from django_stubs_ext import WithAnnotations

from shop.errors import AddressNotFound, CartItemNotFound
from shop.models import Address, Cart, CartItem, Product, User
from shop.pricing import BasketLine, PricingContext, price_basket
from shop.stock import available_units


def available_expression() -> Combinable:
    """Units a customer may still buy: THE one definition of availability.

    Stock on hand minus the units held by unexpired inventory locks (a correlated subquery,
    so a page of products is still one query); never below 0. Inventory defines it
    (``shop.stock``).
    """
    return available_units(timezone.now())


class Availability(TypedDict):
    available: int


def product_queryset_with_available() -> "QuerySet[WithAnnotations[Product, Availability]]":
    return Product.objects.annotate(available=available_expression())


def product_available(*, product_id: int) -> int:
    """Available units of one product (0 for an unknown product)."""
    row = (
        product_queryset_with_available()
        .filter(pk=product_id)
        .values_list("available", flat=True)
        .first()
    )
    return max(row or 0, 0)


def product_list_active(*, search: str = "") -> QuerySet[Product]:
    products = product_queryset_with_available().filter(is_active=True)
    for term in search.split():  # every word must match somewhere
        products = products.filter(
            Q(name__icontains=term) | Q(sku__icontains=term) | Q(description__icontains=term)
        )
    return products.order_by("name", "id")


def cart_get_for_customer(*, customer: User) -> Cart | None:
    return Cart.objects.filter(customer=customer).first()


def cart_items_for_display(*, cart: Cart | None) -> list[CartItem]:
    if cart is None:
        return []
    return list(cart.items.select_related("product").order_by("id"))


def cart_item_get_for_customer(*, customer: User, item_id: int) -> CartItem:
    item = CartItem.objects.filter(pk=item_id, cart__customer=customer).first()
    if item is None:
        raise CartItemNotFound(details={"item_id": item_id})
    return item


def address_list_for_customer(*, customer: User) -> QuerySet[Address]:
    return Address.objects.filter(customer=customer).order_by("-is_default", "id")


def address_get_for_customer(*, customer: User, address_id: int) -> Address:
    address = Address.objects.filter(pk=address_id, customer=customer).first()
    if address is None:
        raise AddressNotFound(details={"address_id": address_id})
    return address


def cart_summary(*, customer: User) -> dict:
    """The cart as the API shows it, priced at today's product prices (``shop.pricing``)."""
    cart = cart_get_for_customer(customer=customer)
    items = list(cart_items_for_display(cart=cart))
    currency = cart.currency if cart and items else ""
    basket = price_basket(
        [
            BasketLine(
                product_id=item.product_id,
                sku=item.product.sku,
                name=item.product.name,
                unit_price=item.product.price,
                quantity=item.quantity,
            )
            for item in items
        ],
        PricingContext(currency=currency, customer_id=customer.pk),
    )
    summary = {
        "items": [
            {
                "id": item.pk,
                "product": {"id": item.product_id, "sku": line.sku, "name": line.name},
                "quantity": line.quantity,
                "unit_price": line.unit_price,
                "line_total": line.line_total,
            }
            for item, line in zip(items, basket.lines, strict=True)
        ],
        "item_count": sum(line.quantity for line in basket.lines),
        "currency": currency,
        "total": basket.total,
    }
    if basket.adjustments:  # absent while no adjuster applies: the body clients know today
        summary["subtotal"] = basket.subtotal
        summary["adjustments"] = [
            {"kind": a.kind, "label": a.label, "code": a.code, "amount": a.amount}
            for a in basket.adjustments
        ]
    return summary
