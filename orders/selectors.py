"""Customer-scoped order reads: never look an order up by id alone."""

from typing import Any

from django.db.models import Count, Prefetch, QuerySet

from core.errors import NotFound
from orders.models import Order, OrderEvent


def orders_for_customer(*, customer: Any, state: str | None = None) -> QuerySet[Order]:
    orders = Order.objects.filter(customer=customer).annotate(item_count=Count("items"))
    if state:
        orders = orders.filter(state=state)
    return orders.order_by("-created_at", "-id")


def order_get_for_customer(*, customer: Any, order_id: int) -> Order:
    """The customer's order with items and events, or 404 (also for another's order)."""
    order = (
        Order.objects.filter(customer=customer, pk=order_id)
        .prefetch_related(
            "items", Prefetch("events", queryset=OrderEvent.objects.order_by("created_at", "id"))
        )
        .first()
    )
    if order is None:
        raise NotFound("Order not found.")
    return order
