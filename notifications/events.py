"""The events the shop notifies about: which channels each uses and what its context needs.

Callers (orders, payments) hand ``services.enqueue`` an event name from this registry and a
context holding at least the required keys. Money values are Decimal strings ("12500.00") with
a ``currency`` key; links are absolute URLs built from SITE_URL (see ``site_link``).

Common context keys: ``order_number`` (str), ``customer_name`` (str), ``order_url`` (link).
``items`` is a list of ``{"name", "quantity", "unit_price", "line_total"}``.

Keys in an event's ``secret_context`` (a password-reset link) are credentials: the outbox
blanks them once the message is sent, and the admin never shows them.
"""

from dataclasses import dataclass
from enum import StrEnum
from typing import Any

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
    secret_context: frozenset[str] = frozenset()


_CUSTOMER = frozenset({"order_number", "customer_name", "order_url"})


def _customer(name: str, *, keys: set[str], has_sms: bool, description: str) -> EventSpec:
    return EventSpec(name, Audience.CUSTOMER, _CUSTOMER | keys, has_sms, description)


def _account(name: str, *, link: str, description: str) -> EventSpec:
    """A message about the customer's account (no order): one link, which is a credential."""
    keys = frozenset({"customer_name", link, "valid_for"})
    return EventSpec(name, Audience.CUSTOMER, keys, False, description, frozenset({link}))


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
            description="A refund of `amount` was issued. Optional: message (from staff).",
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
        _account(
            "email_verification",
            link="verify_url",
            description="Confirm the account's email address; valid_for is e.g. '7 days'.",
        ),
        _account(
            "password_reset",
            link="reset_url",
            description="A link to choose a new password; valid_for is e.g. '1 hour'.",
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


HIDDEN = "(hidden: a sign-in credential)"


def without_secrets(event: str, context: dict[str, Any]) -> dict[str, Any]:
    """The context with the event's credentials replaced, for showing or keeping after use."""
    spec = EVENTS.get(event)
    if spec is None or not spec.secret_context:
        return context
    return {key: HIDDEN if key in spec.secret_context else value for key, value in context.items()}


def site_link(path: str) -> str:
    """An absolute link into the shop for a message: SITE_URL + path."""
    return f"{settings.SITE_URL}/{path.lstrip('/')}"
