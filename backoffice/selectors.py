"""Order reads for staff (the staff API; the admin has the same filters)."""

from datetime import date

from django.db.models import Prefetch, Q, QuerySet

from core.errors import NotFound
from orders.models import Order, OrderEvent


def orders_for_staff(
    *,
    state: str | None = None,
    payment_status: str | None = None,
    payment_method: str | None = None,
    needs_attention: bool | None = None,
    created_from: date | None = None,
    created_to: date | None = None,
    search: str = "",
) -> QuerySet[Order]:
    """Every customer's orders, newest first. ``created_to`` is inclusive (a whole day)."""
    orders = Order.objects.select_related("customer")
    if state:
        orders = orders.filter(state=state)
    if payment_status:
        orders = orders.filter(payment_status=payment_status)
    if payment_method:
        orders = orders.filter(payment_method=payment_method)
    if needs_attention is not None:
        orders = orders.filter(needs_attention=needs_attention)
    if created_from:
        orders = orders.filter(created_at__date__gte=created_from)
    if created_to:
        orders = orders.filter(created_at__date__lte=created_to)
    search = search.strip()
    if search:
        orders = orders.filter(_search(search))
    newest_first: QuerySet[Order] = orders.order_by("-created_at", "-id")
    return newest_first


def _search(term: str) -> Q:
    return (
        Q(number__icontains=term)
        | Q(customer__email__icontains=term)
        | Q(customer__phone__icontains=term)
        | Q(shipping_address__phone__icontains=term)
    )


def order_get_for_staff(*, order_id: int) -> Order:
    order: Order | None = (
        Order.objects.select_related("customer")
        .prefetch_related(
            "items",
            Prefetch(
                "events",
                queryset=OrderEvent.objects.select_related("actor").order_by("-created_at", "-id"),
            ),
        )
        .filter(pk=order_id)
        .first()
    )
    if order is None:
        raise NotFound("Order not found.", details={"order_id": order_id})
    return order
