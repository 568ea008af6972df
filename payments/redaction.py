"""Keep only what we need from gateway answers before they are stored.

An allow-list, not a deny-list: a field a gateway adds tomorrow (a card fingerprint, an
authorization code) is dropped until someone decides it is safe. Applied recursively: a nested
object is kept only under an allowed key and then filtered by the same list. As a second net,
any kept string that looks like a card number (13 to 19 digits, spaces or dashes allowed) is masked.
"""

from __future__ import annotations

import re
from typing import Any

_COMMON = {
    "id",
    "object",
    "type",
    "event",
    "status",
    "reference",
    "amount",
    "currency",
    "created",
    "created_at",
    "paid_at",
    "message",
    "data",
    "reason",
    "gateway_response",
    "domain",
}

ALLOWED_FIELDS: dict[str, frozenset[str]] = {
    "paystack": frozenset(
        _COMMON
        | {
            "access_code",
            "authorization_url",
            "channel",
            "paidAt",
            "createdAt",
            "requested_amount",
            "fees",
            "transaction",
            "transaction_reference",
            "refund_reference",
            "refund_amount",
            "deducted_amount",
            "merchant_note",
            "resolution",
            "dueAt",
            "resolvedAt",
            "category",
            "metadata",
            "order_number",
        }
    ),
    "stripe": frozenset(
        _COMMON
        | {
            "url",
            "payment_status",
            "payment_intent",
            "client_reference_id",
            "amount_total",
            "amount_received",
            "latest_charge",
            "metadata",
            "order_number",
            "charge",
            "failure_reason",
            "expires_at",
            "livemode",
            "api_version",
        }
    ),
    "flutterwave": frozenset(
        _COMMON
        | {
            "link",
            "tx_ref",
            "flw_ref",
            "charged_amount",
            "amount_settled",
            "amount_refunded",
            "processor_response",
            "payment_type",
            "tx_id",
            "meta",
            "order_number",
            "transaction_id",
            "due_date",
            "stage",
        }
    ),
    "dummy": frozenset(_COMMON | {"refunded", "callback_url"}),
    "bank_transfer": frozenset(_COMMON | {"pay_before"}),
    "cod": frozenset(_COMMON | {"pay_on_delivery"}),
}

_PAN_LIKE = re.compile(r"(?<!\d)(?:\d[ -]?){12,18}\d(?!\d)")
MASK = "[redacted]"


def redact(gateway: str, value: Any) -> Any:
    """A copy of ``value`` with only the gateway's allowed fields, PAN-like strings masked."""
    allowed = ALLOWED_FIELDS.get(gateway, frozenset(_COMMON))
    return _redact(value, allowed)


def _redact(value: Any, allowed: frozenset[str]) -> Any:
    if isinstance(value, dict):
        return {k: _redact(v, allowed) for k, v in value.items() if str(k) in allowed}
    if isinstance(value, list | tuple):
        return [_redact(v, allowed) for v in value]
    if isinstance(value, str):
        return mask_card_numbers(value)
    if isinstance(value, int) and not isinstance(value, bool) and 13 <= len(str(abs(value))) <= 19:
        return MASK
    if isinstance(value, bool) or value is None or isinstance(value, int | float):
        return value
    return mask_card_numbers(str(value))  # Decimal, datetime: JSON-safe and exact


def mask_card_numbers(text: str) -> str:
    """``text`` with every run of 13 to 19 digits (spaces or dashes allowed) masked."""
    return _PAN_LIKE.sub(MASK, text)
