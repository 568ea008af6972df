"""Checkout: the customer's cart becomes an order holding its stock (``place_order``)."""

from orders.checkout.service import CheckoutRequest, PlacedOrder, new_order_number, place_order

__all__ = ["CheckoutRequest", "PlacedOrder", "new_order_number", "place_order"]
