"""The events the shop notifies about: which channels each uses and what its context needs.

Callers (orders, payments) hand ``services.enqueue`` an event name from this registry and a
context holding at least the required keys. Money values are Decimal strings ("12500.00") with
a ``currency`` key; links are absolute URLs built from SITE_URL (see ``site_link``).

Common context keys: ``order_number`` (str), ``customer_name`` (str), ``order_url`` (link).
``items`` is a list of ``{"name", "quantity", "unit_price", "line_total"}``.
"""

from dataclasses import dataclass
from enum import StrEnum

from django.conf import settings


class Audience(StrEnum):
    CUSTOMER = "customer"
    STAFF = "staff"


@dataclass(frozen=True)
class EventSpec:
    name: str
    audience: Audience
    required_context: frozenset[str]
    has_sms: bool
    description: str


_CUSTOMER = frozenset({"order_number", "customer_name", "order_url"})


def _customer(name: str, *, keys: set[str], has_sms: bool, description: str) -> EventSpec:
    return EventSpec(name, Audience.CUSTOMER, _CUSTOMER | keys, has_sms, description)


def _staff(name: str, *, keys: set[str], description: str) -> EventSpec:
    return EventSpec(name, Audience.STAFF, frozenset(keys), False, description)


EVENTS: dict[str, EventSpec] = {
    spec.name: spec
    for spec in [
        _customer(
            "order_placed",
            keys={"items", "subtotal", "shipping", "total", "currency"},
            has_sms=True,
            description=(
                "Order received. Optional: payment_instructions {bank_name, account_name, "
                "account_number, reference, amount, expires_at} for bank transfer; payment_url."
            ),
        ),
        _customer(
            "payment_received",
            keys={"amount", "currency"},
            has_sms=True,
            description="Payment confirmed for the order.",
        ),
        _customer(
            "payment_failed",
            keys={"total", "currency", "retry_url"},
            has_sms=True,
            description="A payment attempt failed; retry_url lets the customer pay again.",
        ),
        _customer(
            "order_shipped",
            keys=set(),
            has_sms=True,
            description="Order handed to the carrier. Optional: carrier, tracking_number, "
            "tracking_url.",
        ),
        _customer(
            "order_delivered",
            keys=set(),
            has_sms=False,
            description="Order delivered.",
        ),
        _customer(
            "order_cancelled",
            keys=set(),
            has_sms=True,
            description="Order cancelled. Optional: reason; refund_amount (+ currency).",
        ),
        _customer(
            "refund_issued",
            keys={"amount", "currency"},
            has_sms=True,
            description="A refund of `amount` was issued.",
        ),
        _customer(
            "order_expired",
            keys={"total", "currency"},
            has_sms=False,
            description=(
                "Unpaid order cancelled after the payment window closed (or a cash-on-delivery "
                "order not accepted in time). Optional: cash_on_delivery."
            ),
        ),
        _staff(
            "dispute_opened",
            keys={"order_number", "amount", "currency", "admin_url"},
            description="A payment dispute was opened. Optional: gateway, reason.",
        ),
        _staff(
            "order_needs_attention",
            keys={"order_number", "reason", "admin_url"},
            description="An order needs a person (e.g. paid after its stock was released).",
        ),
        _staff(
            "health_alert",
            keys={"alert", "summary", "value", "threshold", "dashboard_url"},
            description="A shop health figure is past its threshold (ops.check_health_alerts).",
        ),
    ]
}


def site_link(path: str) -> str:
    """An absolute link into the shop for a message: SITE_URL + path."""
    return f"{settings.SITE_URL}/{path.lstrip('/')}"
