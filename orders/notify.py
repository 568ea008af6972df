"""Which order events tell the customer (or staff) something, and what they are told.

``record_event`` calls ``notify_order_event`` in the transaction that wrote the event, so the
order change and its messages commit or roll back together; the outbox sends them after commit.
One-time milestones (placed, paid, shipped…) are de-duplicated by order number, repeatable ones
(a second partial refund, another failed attempt) by the event's id: a retried service that
writes no new event queues nothing new.
"""

import logging
from collections.abc import Iterable
from typing import Any

from notifications.events import site_link
from notifications.exceptions import InvalidRecipient
from notifications.services import enqueue, staff_alert
from orders.models import Order, OrderEvent, OrderItem
from orders.payment_methods import BANK_TRANSFER
from orders.states import ActorType

logger = logging.getLogger(__name__)

# event kind -> (notification event, repeatable)
CUSTOMER_NOTICES: dict[str, tuple[str, bool]] = {
    "placed": ("order_placed", False),
    "paid": ("payment_received", False),
    "cash_collected": ("payment_received", False),
    "payment_failed": ("payment_failed", True),
    "shipped": ("order_shipped", False),
    "delivered": ("order_delivered", False),
    "cancelled": ("order_cancelled", False),
    "expired": ("order_expired", False),
    "refunded": ("refund_issued", True),
    "partially_refunded": ("refund_issued", True),
    "refund_recorded": ("refund_issued", True),
    "unapplied_payment_refunded": ("refund_issued", True),
}
STAFF_ALERTS: dict[str, str] = {
    "dispute_opened": "dispute_opened",
    "flagged": "order_needs_attention",
    "refund_failed": "order_needs_attention",
}


def _money(value: Any) -> str:
    return f"{value:.2f}" if value is not None else ""


def _order_links(order: Order) -> dict[str, str]:
    return {
        "order_url": site_link(f"orders/{order.number}"),
        "retry_url": site_link(f"orders/{order.number}/pay"),
    }


def _admin_url(order: Order) -> str:
    # The admin's fixed URL layout; reverse() would tie alerts to the admin being registered.
    return site_link(f"admin/orders/order/{order.pk}/change/")


def _customer_context(order: Order, kind: str, event: OrderEvent, items) -> dict[str, Any]:
    customer = order.customer
    links = _order_links(order)
    context: dict[str, Any] = {
        "order_number": order.number,
        "customer_name": customer.get_full_name() or order.shipping_address.get("full_name", ""),
        "order_url": links["order_url"],
        "currency": order.currency,
        "total": _money(order.total),
    }
    payload = event.payload or {}
    if kind == "placed":
        context.update(
            subtotal=_money(order.subtotal),
            shipping=_money(order.shipping),
            items=[
                {
                    "name": item.name,
                    "quantity": item.quantity,
                    "unit_price": _money(item.unit_price),
                    "line_total": _money(item.line_total),
                }
                for item in items
            ],
        )
        if order.payment_method == BANK_TRANSFER:
            from shop.platform_settings import get_setting

            account = get_setting("bank_transfer.account")
            context["payment_instructions"] = {
                **account,
                "reference": order.number,
                "amount": _money(order.total),
                "expires_at": order.expires_at.strftime("%d %b %Y, %H:%M")
                if order.expires_at
                else "",
            }
    elif kind in {"paid", "cash_collected"}:
        context["amount"] = payload.get("amount") or _money(order.total)
    elif kind == "payment_failed":
        context.update(retry_url=links["retry_url"], reason=event.reason)
    elif kind == "shipped":
        context.update(
            carrier=payload.get("carrier", order.carrier),
            tracking_number=payload.get("tracking_number", order.tracking_number),
        )
    elif kind == "cancelled":
        # Staff's reason is internal: the customer reads only the message written for them
        # (or, when they cancelled themselves, their own words).
        own_words = event.actor_type == ActorType.CUSTOMER
        context["reason"] = event.reason if own_words else payload.get("customer_message", "")
        if payload.get("refund_amount"):
            context["refund_amount"] = payload["refund_amount"]
    elif kind == "expired":
        context["cash_on_delivery"] = order.is_cash_on_delivery  # not accepted, rather than unpaid
    elif kind in {
        "refunded",
        "partially_refunded",
        "refund_recorded",
        "unapplied_payment_refunded",
    }:
        context["amount"] = payload.get("amount") or _money(order.total)
        context["message"] = payload.get("customer_message", "")
    return context


def notify_order_event(event: OrderEvent, *, items: Iterable[OrderItem] | None = None) -> None:
    """Queue the messages an order event calls for (none for most staff-only kinds)."""
    order = event.order
    if event.kind in CUSTOMER_NOTICES:
        name, repeatable = CUSTOMER_NOTICES[event.kind]
        occurrence = event.pk if repeatable else event.kind
        customer = order.customer
        context = _customer_context(
            order, event.kind, event, items if items is not None else order.items.all()
        )
        message = {
            "event": name,
            "email": customer.email,
            "context": context,
            "dedup_key": f"{name}:{order.number}:{occurrence}",
            "fetch_rows": False,
        }
        phone = customer.phone or order.shipping_address.get("phone") or None
        try:
            enqueue(**message, phone=phone, sms_allowed=not customer.sms_opt_out)
        except InvalidRecipient:
            # A stored phone that no longer parses must not fail the order change: email only.
            logger.warning("order %s: phone refused for %s; emailing only", order.number, name)
            enqueue(**message, phone=None)
    elif event.kind in STAFF_ALERTS:
        name = STAFF_ALERTS[event.kind]
        payload = event.payload or {}
        context = {
            "order_number": order.number,
            "admin_url": _admin_url(order),
            "reason": event.reason or payload.get("reason", ""),
            "amount": payload.get("amount") or _money(order.total),
            "currency": order.currency,
            "gateway": payload.get("gateway", order.payment_method),
        }
        staff_alert(name, context, dedup_key=f"{name}:{order.number}:{event.pk}")
