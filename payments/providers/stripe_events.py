"""Stripe's signed webhooks: the signature check and each event type as a ``GatewayEvent``.

The ``stripe`` SDK is used here because it is the reference for the signature scheme
(``Stripe-Signature``: a timestamp and an HMAC-SHA256 of ``"{timestamp}.{body}"``, refused
outside ``WEBHOOK_TOLERANCE_SECONDS``); API calls are in ``stripe_provider``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import stripe

from payments.providers.base import (
    DisputeInfo,
    GatewayEvent,
    RefundInfo,
    header,
    parse_timestamp,
    reading_webhook,
)
from payments.providers.errors import InvalidSignature, InvalidWebhookPayload
from payments.providers.http import decode_json
from payments.providers.money import from_subunits

GATEWAY = "stripe"
SIGNATURE_HEADER = "stripe-signature"
WEBHOOK_TOLERANCE_SECONDS = 300
_DISPUTE_WON = frozenset({"won", "warning_closed", "prevented"})


def parse_signed_webhook(
    headers: Mapping[str, str], raw_body: bytes, *, webhook_secret: str
) -> list[GatewayEvent]:
    """The events of a webhook whose ``Stripe-Signature`` is valid for ``webhook_secret``.

    Raises ``InvalidSignature`` before reading anything of a body it cannot vouch for, and
    ``InvalidWebhookPayload`` for a signed body that is not a Stripe event.
    """
    signature = header(headers, SIGNATURE_HEADER)
    if not signature or not webhook_secret:
        raise InvalidSignature(details={"gateway": GATEWAY})
    try:
        payload = raw_body.decode("utf-8")
        stripe.WebhookSignature.verify_header(
            payload, signature, webhook_secret, tolerance=WEBHOOK_TOLERANCE_SECONDS
        )
    except (UnicodeDecodeError, stripe.SignatureVerificationError) as exc:
        raise InvalidSignature(details={"gateway": GATEWAY}) from exc
    try:
        event = decode_json(raw_body)
        event_type, event_id = event["type"], event["id"]
        obj = event["data"]["object"]
        if not isinstance(obj, dict):
            raise TypeError("data.object is not an object")
        # The id is the event's dedup key: an event without one cannot be told from another.
        if not (isinstance(event_type, str) and event_type and isinstance(event_id, str)):
            raise TypeError("an event has a type and an id, both strings")
        if not event_id:
            raise ValueError("the event's id is empty")
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidWebhookPayload(details={"gateway": GATEWAY}) from exc
    with reading_webhook(GATEWAY):
        return [_normalise(event, event_type, obj)]


def id_of(value: Any) -> str:
    """An expandable field: either the id string or the expanded object."""
    return str(value["id"] if isinstance(value, dict) else value)


def _normalise(event: dict[str, Any], event_type: str, obj: dict[str, Any]) -> GatewayEvent:
    common: dict[str, Any] = {
        "gateway": GATEWAY,
        "event_type": event_type,
        "event_key": str(event["id"]),
        "occurred_at": parse_timestamp(event.get("created")),
        "raw": event,
    }
    metadata = obj.get("metadata") or {}
    if event_type.startswith("checkout.session."):
        return _checkout_session_event(event_type, obj, common)
    if event_type in ("payment_intent.succeeded", "payment_intent.payment_failed"):
        currency = str(obj["currency"]).upper()
        succeeded = event_type == "payment_intent.succeeded"
        error = obj.get("last_payment_error") or {}
        return GatewayEvent(
            kind="charge_succeeded" if succeeded else "charge_failed",
            reference=metadata.get("reference"),
            amount=from_subunits(obj["amount_received"] if succeeded else obj["amount"], currency),
            currency=currency,
            gateway_ids={"payment_intent_id": str(obj["id"])},
            failure_reason=None if succeeded else error.get("message"),
            **common,
        )
    if event_type in ("refund.created", "refund.updated", "refund.failed"):
        currency = str(obj["currency"]).upper()
        status = str(obj["status"])
        kind = {"succeeded": "refund_processed", "failed": "refund_failed"}.get(status, "unknown")
        ids = {"refund_id": str(obj["id"])}
        if obj.get("payment_intent"):
            ids["payment_intent_id"] = id_of(obj["payment_intent"])
        return GatewayEvent(
            kind=kind,  # type: ignore[arg-type]
            reference=metadata.get("reference"),
            amount=from_subunits(obj["amount"], currency),
            currency=currency,
            gateway_ids=ids,
            failure_reason=obj.get("failure_reason"),
            refund=RefundInfo(
                gateway_refund_id=str(obj["id"]), refund_reference=None, status=status
            ),
            **common,
        )
    if event_type in ("charge.dispute.created", "charge.dispute.closed"):
        currency = str(obj["currency"]).upper()
        amount = from_subunits(obj["amount"], currency)
        opened = event_type == "charge.dispute.created"
        status = "open" if opened else ("won" if obj["status"] in _DISPUTE_WON else "lost")
        ids = {"dispute_id": str(obj["id"])}
        if obj.get("payment_intent"):
            ids["payment_intent_id"] = id_of(obj["payment_intent"])
        if obj.get("charge"):
            ids["charge_id"] = id_of(obj["charge"])
        due = (obj.get("evidence_details") or {}).get("due_by")
        return GatewayEvent(
            kind="dispute_opened" if opened else "dispute_resolved",
            # Disputes do not carry our metadata: the caller maps payment_intent_id to a payment.
            reference=metadata.get("reference"),
            amount=amount,
            currency=currency,
            gateway_ids=ids,
            dispute=DisputeInfo(
                gateway_dispute_id=str(obj["id"]),
                status=status,  # type: ignore[arg-type]
                reason=obj.get("reason"),
                evidence_due=parse_timestamp(due),
                amount=amount,
                currency=currency,
            ),
            **common,
        )
    return GatewayEvent(
        kind="unknown", reference=metadata.get("reference"), amount=None, currency=None, **common
    )


def _checkout_session_event(
    event_type: str, session: dict[str, Any], common: dict[str, Any]
) -> GatewayEvent:
    paid = session.get("payment_status") == "paid"
    if event_type == "checkout.session.async_payment_succeeded" or (
        event_type == "checkout.session.completed" and paid
    ):
        kind = "charge_succeeded"
    elif event_type == "checkout.session.async_payment_failed":
        kind = "charge_failed"
    else:  # completed but unpaid (async method still running), expired: nothing to book yet
        kind = "unknown"
    currency = str(session["currency"]).upper() if session.get("currency") else None
    ids = {"checkout_session_id": str(session["id"])}
    if session.get("payment_intent"):
        ids["payment_intent_id"] = id_of(session["payment_intent"])
    return GatewayEvent(
        kind=kind,  # type: ignore[arg-type]
        reference=session.get("client_reference_id"),
        amount=from_subunits(session["amount_total"], currency) if currency else None,
        currency=currency,
        gateway_ids=ids,
        **common,
    )
