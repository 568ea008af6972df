"""Setting up carts and placing orders the way a customer does (through the services)."""

from collections.abc import Iterable

from orders.checkout import CheckoutRequest, PlacedOrder, place_order
from shop.models import Cart, CartItem
from tests.factories import AddressFactory


def fill_cart(customer, lines: Iterable[tuple[object, int]]) -> Cart:
    """Put (product, quantity) lines in the customer's cart, replacing what was there."""
    cart, _ = Cart.objects.get_or_create(customer=customer, defaults={"currency": "NGN"})
    CartItem.objects.filter(cart=cart).delete()
    CartItem.objects.bulk_create(
        CartItem(cart=cart, product=product, quantity=quantity) for product, quantity in lines
    )
    return cart


def place(customer, lines, *, payment_method: str = "bank_transfer") -> PlacedOrder:
    fill_cart(customer, lines)
    address = AddressFactory(customer=customer)
    return place_order(CheckoutRequest(customer, payment_method, address_id=address.pk))
