"""Flutterwave's events: ``verif-hash`` webhooks and chargeback items as ``GatewayEvent``s.

The webhook's ``verif-hash`` is a shared secret, not a signature over the body, so its events
are marked untrusted: the caller confirms them with ``verify()`` before acting on them.
Chargebacks are read from the API with our secret key (``FlutterwaveProvider.list_chargebacks``)
and are trusted. API calls are in ``flutterwave``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

from payments.providers.base import (
    DisputeInfo,
    DisputeStatus,
    GatewayEvent,
    header,
    parse_timestamp,
    reading_webhook,
    signatures_match,
)
from payments.providers.errors import InvalidSignature, InvalidWebhookPayload
from payments.providers.http import decode_json
from payments.providers.money import quantize_major

GATEWAY = "flutterwave"
SIGNATURE_HEADER = "verif-hash"
# The values GET /v3/chargebacks documents for its ``status`` filter. Each is asked for in
# turn because the default without one is unclear (the reference pre-fills "lost").
CHARGEBACK_STATUSES = ("initiated", "declined", "accepted", "won", "lost")
# "declined": we contested it, arbitration pending. "accepted": we conceded, the customer gets
# the money back, as in a lost dispute. "pending" is the newer API's word for "initiated".
_CHARGEBACK_DISPUTE_STATUSES: dict[str, DisputeStatus] = {
    "initiated": "open",
    "pending": "open",
    "declined": "open",
    "won": "won",
    "accepted": "lost",
    "lost": "lost",
}


def major_units(value: Any, currency: str) -> Decimal:
    """A gateway amount in major units (JSON number or numeric string) as an exact Decimal."""
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise TypeError(f"amount is not a number: {value!r}")
    return quantize_major(Decimal(value), currency)


def parse_hashed_webhook(
    headers: Mapping[str, str], raw_body: bytes, *, webhook_hash: str
) -> list[GatewayEvent]:
    """The events of a webhook whose ``verif-hash`` header equals ``webhook_hash``; untrusted.

    Raises ``InvalidSignature`` for a missing or wrong hash, ``InvalidWebhookPayload`` for a
    body that is not JSON.
    """
    if not webhook_hash or not signatures_match(webhook_hash, header(headers, SIGNATURE_HEADER)):
        raise InvalidSignature(details={"gateway": GATEWAY})
    try:
        body = decode_json(raw_body)
        event_type = str(body.get("event") or body.get("event.type") or "")
        data = body.get("data")
    except (ValueError, AttributeError) as exc:
        raise InvalidWebhookPayload(details={"gateway": GATEWAY}) from exc
    with reading_webhook(GATEWAY):
        if event_type == "charge.completed" and isinstance(data, dict):
            return [_charge_completed(data, body)]
        # Everything else, including the legacy v2 flat shape ("event.type"), is recorded
        # and acknowledged but not acted upon.
        key_source = data if isinstance(data, dict) else body
        return [
            GatewayEvent(
                gateway=GATEWAY,
                kind="unknown",
                event_type=event_type or "unknown",
                event_key=f"{event_type}:{key_source.get('id')}:{key_source.get('status')}",
                reference=key_source.get("tx_ref") or key_source.get("txRef"),
                amount=None,
                currency=None,
                occurred_at=None,
                trusted=False,
                raw=body,
            )
        ]


def _charge_completed(data: dict[str, Any], body: Any) -> GatewayEvent:
    status = str(data["status"])
    currency = str(data["currency"]).upper()
    kind = {"successful": "charge_succeeded", "failed": "charge_failed"}.get(status, "unknown")
    return GatewayEvent(
        gateway=GATEWAY,
        kind=kind,  # type: ignore[arg-type]
        event_type="charge.completed",
        event_key=f"charge.completed:{data['id']}:{status}",
        reference=str(data["tx_ref"]),
        amount=major_units(data["amount"], currency),
        currency=currency,
        occurred_at=parse_timestamp(data.get("created_at")),
        gateway_ids={"transaction_id": str(data["id"]), "flw_ref": str(data.get("flw_ref"))},
        trusted=False,
        failure_reason=None if status == "successful" else data.get("processor_response"),
        raw=body,
    )


def chargeback_event(item: Mapping[str, Any]) -> GatewayEvent:
    """One item of ``GET /v3/chargebacks`` as a dispute event (``unknown`` for new statuses).

    The item carries no currency: the caller takes the payment's. ``amount`` is major units.
    """
    chargeback_id = str(item["id"])
    status = str(item["status"]).lower()
    dispute_status = _CHARGEBACK_DISPUTE_STATUSES.get(status)
    raw_amount = item.get("amount")
    if isinstance(raw_amount, bool) or not isinstance(raw_amount, int | str | Decimal | None):
        raise TypeError(f"amount is not a number: {raw_amount!r}")
    amount = Decimal(raw_amount) if raw_amount is not None else None
    if amount is not None and amount <= 0:
        amount = None  # nothing to hold: the dispute is still recorded, without an amount
    opened_at = parse_timestamp(item.get("created_at"))
    if dispute_status is None:
        kind = "unknown"
    else:
        kind = "dispute_opened" if dispute_status == "open" else "dispute_resolved"
    transaction_id = item.get("transaction_id")
    return GatewayEvent(
        gateway=GATEWAY,
        kind=kind,  # type: ignore[arg-type]
        event_type=f"chargeback.{status}",
        event_key=f"chargeback:{chargeback_id}:{status}",
        reference=str(item["tx_ref"]) if item.get("tx_ref") else None,
        amount=amount,
        currency=None,
        occurred_at=opened_at if kind != "dispute_resolved" else _last_change(item) or opened_at,
        gateway_ids={"transaction_id": str(transaction_id)} if transaction_id else {},
        trusted=True,  # read from the API with our secret key, not from an unsigned webhook
        dispute=DisputeInfo(
            gateway_dispute_id=chargeback_id,
            status=dispute_status,
            reason=str(item.get("comment") or "") or None,
            evidence_due=parse_timestamp(item.get("due_date")),
            amount=amount,
            currency=None,
        )
        if dispute_status is not None
        else None,
        raw=dict(item),
    )


def _last_change(item: Mapping[str, Any]) -> datetime | None:
    """The latest dated entry of ``meta.history`` (when the chargeback reached its status)."""
    history = (item.get("meta") or {}).get("history") or []
    dates = [parse_timestamp(h.get("date")) for h in history if isinstance(h, dict)]
    return max((d for d in dates if d is not None), default=None)
