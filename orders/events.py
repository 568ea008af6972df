"""The audit log writer and the customer-safe view of it."""

from collections.abc import Iterable
from typing import Any

from core import sql
from orders.models import Order, OrderEvent, OrderItem
from orders.states import ActorType


def record_event(
    *,
    order: Order,
    kind: str,
    from_state: str = "",
    actor_type: str = ActorType.SYSTEM,
    actor: Any = None,
    reason: str = "",
    payload: dict[str, Any] | None = None,
    items: Iterable[OrderItem] | None = None,
    event_id: int | None = None,
) -> OrderEvent:
    """Append one event and queue the messages it calls for, in the caller's transaction.

    ``items`` saves a query when the caller already holds the order's items (checkout), and
    ``event_id`` (drawn with ``core.sql.next_id_sql``) lets the INSERT wait in a
    ``core.sql.write_batch()``.
    """
    from orders.notify import notify_order_event

    event = OrderEvent(
        id=event_id,
        order=order,
        kind=kind,
        from_state=from_state,
        to_state=order.state,
        actor_type=actor_type,
        actor=actor,
        reason=reason,
        payload=payload or {},
    )
    sql.insert([event])
    notify_order_event(event, items=items)
    return event


# What a customer sees of each event kind; kinds absent here are staff-only.
CUSTOMER_MESSAGES: dict[str, str] = {
    "placed": "Order placed.",
    "paid": "Payment received.",
    "payment_failed": "Payment failed.",
    "payment_retried": "Payment restarted.",
    "cod_accepted": "Order confirmed; pay cash on delivery.",
    "cancelled": "Order cancelled.",
    "expired": "Order cancelled: payment was not received in time.",
    "processing_started": "Order is being prepared.",
    "ready_for_shipment": "Order is packed and ready to ship.",
    "shipped": "Order shipped.",
    "in_transit": "Order is on its way.",
    "delivered": "Order delivered.",
    "cash_collected": "Cash payment received.",
    "refunded": "Order refunded.",
    "partially_refunded": "Part of the order refunded.",
    "refund_recorded": "Refund issued.",
    "dispute_opened": "A payment dispute was opened.",
    "dispute_won": "The payment dispute was resolved.",
    "dispute_lost": "The payment dispute was resolved with a refund.",
}


def customer_timeline(events: list[OrderEvent]) -> list[dict[str, Any]]:
    timeline = []
    for event in events:
        message = CUSTOMER_MESSAGES.get(event.kind)
        if message is None:
            continue
        entry: dict[str, Any] = {
            "kind": event.kind,
            "state": event.to_state,
            "message": message,
            "at": event.created_at,
        }
        if event.kind == "shipped":
            entry["tracking_number"] = event.payload.get("tracking_number", "")
            entry["carrier"] = event.payload.get("carrier", "")
        timeline.append(entry)
    return timeline
