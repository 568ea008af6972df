"""A customer's orders for the personal-data export and erasure (``accounts.personal_data``).

Erasure keeps every order, item, amount and state for the books and replaces what identifies
the person: the delivery address snapshot (the country stays: taxes and reports need it) and
the customer's note. Idempotency keys are deleted, since their stored responses repeat the
address; they only serve retries within 24 h.
"""

from django.db.models import Prefetch, QuerySet

from orders.models import IdempotencyKey, Order, OrderItem

ERASED = "(erased)"


def orders_for_export(*, customer_id: int) -> QuerySet[Order]:
    """The customer's orders, oldest first, with items, payments and refunds prefetched."""
    orders: QuerySet[Order] = (
        Order.objects.filter(customer_id=customer_id)
        .order_by("created_at", "pk")
        .prefetch_related(
            Prefetch("items", queryset=OrderItem.objects.order_by("pk")),
            "payments__refunds",
        )
    )
    return orders


def erased_address(snapshot: dict[str, str]) -> dict[str, str]:
    """The snapshot's keys, emptied, with the country kept."""
    erased = {key: "" for key in snapshot}
    erased["full_name"] = ERASED
    erased["country"] = snapshot.get("country", "")
    return erased


def erase_customer_details(*, customer_id: int) -> int:
    """Replace the address snapshot and note of every order of the customer (in the caller's
    transaction); returns how many orders were changed. ``updated_at`` is left as it was: the
    order itself did not change, and archiving counts from its last real change."""
    orders = Order.objects.filter(customer_id=customer_id).only("pk", "shipping_address")
    for order in orders:
        Order.objects.filter(pk=order.pk).update(
            shipping_address=erased_address(order.shipping_address or {}), note=""
        )
    IdempotencyKey.objects.filter(customer_id=customer_id).delete()
    return len(orders)
