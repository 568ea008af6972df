"""Paystack: hosted checkout via /transaction/initialize, verify, refunds, signed webhooks.

Protocol notes with sources: docs/payments.md.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from payments.providers.base import (
    CreatePaymentRequest,
    DisputeInfo,
    GatewayEvent,
    GatewayRefund,
    PaymentSession,
    RefundInfo,
    RefundResult,
    VerifyResult,
    VerifyStatus,
    header,
    parse_timestamp,
    reading_gateway_answer,
    reading_webhook,
    require_currency,
    signatures_match,
)
from payments.providers.errors import (
    GatewayBadResponse,
    GatewayOutcomeUnknown,
    GatewayRequestRejected,
    InvalidSignature,
    InvalidWebhookPayload,
    PaymentNotFound,
    UnsupportedCurrency,
)
from payments.providers.http import GatewayHttpClient, GatewayResponse, HttpConfig, decode_json
from payments.providers.money import from_subunits, to_subunits

GATEWAY = "paystack"
DEFAULT_BASE_URL = "https://api.paystack.co"
SIGNATURE_HEADER = "x-paystack-signature"
CURRENCIES = frozenset({"NGN", "GHS", "ZAR", "KES", "USD"})
_REFERENCE = re.compile(r"^[A-Za-z0-9.=-]+$")

_VERIFY_STATUSES: dict[str, VerifyStatus] = {
    "success": "succeeded",
    "failed": "failed",
    "abandoned": "abandoned",
    "reversed": "reversed",
    "ongoing": "pending",
    "pending": "pending",
    "processing": "pending",
    "queued": "pending",
}
_REFUND_STATUSES = {
    "pending": "pending",
    "processing": "pending",
    "needs-attention": "pending",
    "processed": "succeeded",
    "failed": "failed",
}
# A lost dispute is one the merchant accepted (or let lapse): the customer keeps the money.
_LOST_RESOLUTIONS = frozenset({"merchant-accepted", "auto-accepted"})


def sign(raw_body: bytes, secret_key: str) -> str:
    """Paystack's webhook signature: hex HMAC-SHA512 of the raw body keyed with the secret key."""
    return hmac.new(secret_key.encode(), raw_body, hashlib.sha512).hexdigest()


class PaystackProvider:
    name = GATEWAY
    has_hosted_page = True

    def __init__(
        self,
        *,
        secret_key: str,
        base_url: str = DEFAULT_BASE_URL,
        http: HttpConfig | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        self._secret_key = secret_key
        self._client = GatewayHttpClient.with_bearer_key(
            gateway=GATEWAY,
            display_name="Paystack",
            secret_key=secret_key,
            key_setting="PAYSTACK_SECRET_KEY",
            base_url=base_url,
            http=http,
            sleep=sleep,
        )

    # --- API calls ------------------------------------------------------------------------

    def create_payment(self, request: CreatePaymentRequest) -> PaymentSession:
        currency = request.currency.upper()
        if currency not in CURRENCIES:
            raise UnsupportedCurrency(details={"gateway": GATEWAY, "currency": currency})
        if not _REFERENCE.match(request.reference):
            raise ValueError(
                f"Paystack references allow only A-Z a-z 0-9 . = -: {request.reference!r}"
            )
        payload = {
            "email": request.email,
            "amount": to_subunits(request.amount, currency),
            "currency": currency,
            "reference": request.reference,
            "callback_url": request.callback_url,
            "metadata": {**request.metadata, "reference": request.reference}
            | ({"cancel_action": request.cancel_url} if request.cancel_url else {}),
        }
        response = self._client.post_json("/transaction/initialize", payload)
        data = self._data(response, "initialize")
        with reading_gateway_answer(GATEWAY, "initialize"):
            return PaymentSession(
                reference=request.reference,
                redirect_url=str(data["authorization_url"]),
                instructions=None,
                gateway_ids={"access_code": str(data["access_code"])},
                raw=response.body,
            )

    def verify(
        self, reference: str, *, gateway_ids: Mapping[str, str] | None = None
    ) -> VerifyResult:
        response = self._client.get(f"/transaction/verify/{quote(reference, safe='')}")
        if response.status_code in (400, 404) and _not_found(response.body):
            raise PaymentNotFound(details={"gateway": GATEWAY, "reference": reference})
        data = self._data(response, "verify")
        with reading_gateway_answer(GATEWAY, "verify"):
            gateway_status = str(data["status"])
            currency = str(data["currency"]).upper()
            if data["reference"] != reference:
                raise ValueError("verify answered for another reference")
            return VerifyResult(
                reference=reference,
                status=_VERIFY_STATUSES.get(gateway_status, "pending"),
                amount=from_subunits(data["amount"], currency),
                currency=currency,
                paid_at=parse_timestamp(data.get("paid_at")),
                gateway_ids={"transaction_id": str(data["id"])},
                gateway_status=gateway_status,
                failure_reason=None
                if gateway_status == "success"
                else data.get("gateway_response"),
                raw=response.body,
            )

    def refund(
        self,
        reference: str,
        amount: Decimal | None,
        reason: str,
        *,
        currency: str | None = None,
        gateway_ids: Mapping[str, str] | None = None,
        idempotency_key: str | None = None,
    ) -> RefundResult:
        payload: dict[str, Any] = {"transaction": reference, "merchant_note": reason}
        if amount is not None:
            payload["amount"] = to_subunits(amount, require_currency(currency))
        response = self._client.post_json("/refund", payload, moves_money=True)
        data = self._data(response, "refund", moves_money=True)
        with reading_gateway_answer(GATEWAY, "refund", accepted=True):
            currency = str(data["currency"]).upper()
            gateway_status = str(data["status"])
            return RefundResult(
                reference=reference,
                status=_REFUND_STATUSES.get(gateway_status, "pending"),  # type: ignore[arg-type]
                amount=from_subunits(data["amount"], currency),
                currency=currency,
                gateway_refund_id=str(data["id"]),
                gateway_status=gateway_status,
                raw=response.body,
            )

    def list_refunds(
        self,
        reference: str,
        *,
        gateway_ids: Mapping[str, str] | None = None,
        since: datetime | None = None,
    ) -> list[GatewayRefund]:
        """``GET /refund?transaction=<id>``: the refunds of one transaction (its id when known,
        else our reference, which Paystack accepts wherever it takes a transaction)."""
        transaction = (gateway_ids or {}).get("transaction_id") or reference
        response = self._client.get("/refund", params={"transaction": transaction})
        items = self._payload(response, "list refunds", moves_money=False)
        with reading_gateway_answer(GATEWAY, "list refunds"):
            if not isinstance(items, list):
                raise TypeError("data is not a list")
            return [_gateway_refund(item) for item in items if _of_transaction(item, transaction)]

    def expire_session(self, reference: str, *, gateway_ids: Mapping[str, str]) -> bool:
        return False  # Paystack has no call that closes an initialised transaction

    def _data(
        self, response: GatewayResponse, call: str, *, moves_money: bool = False
    ) -> dict[str, Any]:
        """The answer's ``data`` object. With ``moves_money``, an accepted (2xx) answer we
        cannot read raises GatewayOutcomeUnknown: the gateway may have acted on it."""
        data = self._payload(response, call, moves_money=moves_money)
        if not isinstance(data, dict):
            if moves_money:
                raise GatewayOutcomeUnknown(details={"gateway": GATEWAY, "call": call})
            raise GatewayBadResponse(details={"gateway": GATEWAY, "call": call})
        return data

    def _payload(self, response: GatewayResponse, call: str, *, moves_money: bool) -> Any:
        body = response.body
        if not isinstance(body, dict):
            if moves_money and response.status_code < 300:
                raise GatewayOutcomeUnknown(details={"gateway": GATEWAY, "call": call})
            raise GatewayBadResponse(details={"gateway": GATEWAY, "call": call})
        if response.status_code >= 400 or body.get("status") is not True:
            raise GatewayRequestRejected(
                str(body.get("message") or "Paystack refused the request."),
                details={
                    "gateway": GATEWAY,
                    "call": call,
                    "status": response.status_code,
                    "gateway_code": body.get("code"),
                },
            )
        return body.get("data")

    # --- Webhooks -------------------------------------------------------------------------

    def parse_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> list[GatewayEvent]:
        received = header(headers, SIGNATURE_HEADER)
        if not signatures_match(sign(raw_body, self._secret_key), received):
            raise InvalidSignature(details={"gateway": GATEWAY})
        try:
            body = decode_json(raw_body)
            event_type = str(body["event"])
            data = body["data"]
            if not isinstance(data, dict):
                raise TypeError("data is not an object")
        except (ValueError, KeyError, TypeError) as exc:
            raise InvalidWebhookPayload(details={"gateway": GATEWAY}) from exc
        with reading_webhook(GATEWAY):
            return [_normalise(event_type, data, body)]


def _of_transaction(item: Any, transaction: str) -> bool:
    """Whether a listed refund is of ``transaction`` (an id, or our reference). The gateway
    filtered the list already; this only drops an item that names another transaction."""
    owner = item.get("transaction") if isinstance(item, dict) else None
    if isinstance(owner, dict):
        return transaction in (str(owner.get("id")), str(owner.get("reference")))
    if owner is None or not transaction.isdigit():
        return True  # nothing to compare with: trust the gateway's filter
    return str(owner) == transaction


def _gateway_refund(item: dict[str, Any]) -> GatewayRefund:
    currency = str(item["currency"]).upper()
    gateway_status = str(item["status"])
    return GatewayRefund(
        gateway_refund_id=str(item["id"]),
        status=_REFUND_STATUSES.get(gateway_status, "pending"),  # type: ignore[arg-type]
        amount=from_subunits(item["amount"], currency),
        currency=currency,
        created_at=parse_timestamp(item.get("createdAt") or item.get("created_at")),
        gateway_status=gateway_status,
    )


def _not_found(body: Any) -> bool:
    return isinstance(body, dict) and "not found" in str(body.get("message", "")).lower()


def _normalise(event_type: str, data: dict[str, Any], body: Any) -> GatewayEvent:
    common = {"gateway": GATEWAY, "event_type": event_type, "raw": body}
    if event_type == "charge.success":
        currency = str(data["currency"]).upper()
        return GatewayEvent(
            kind="charge_succeeded",
            event_key=f"{event_type}:{data['reference']}:{data.get('status')}",
            reference=str(data["reference"]),
            amount=from_subunits(data["amount"], currency),
            currency=currency,
            occurred_at=parse_timestamp(data.get("paid_at") or data.get("paidAt")),
            gateway_ids={"transaction_id": str(data["id"])},
            **common,
        )
    if event_type in ("refund.processed", "refund.failed"):
        currency = str(data["currency"]).upper()
        refund_id = str(data["id"]) if data.get("id") is not None else None
        refund_reference = data.get("refund_reference")
        return GatewayEvent(
            kind="refund_processed" if event_type == "refund.processed" else "refund_failed",
            event_key=f"{event_type}:{refund_id or refund_reference}:{data.get('status')}",
            reference=str(data["transaction_reference"]),
            amount=from_subunits(data["amount"], currency),  # a string in some events: both parse
            currency=currency,
            occurred_at=parse_timestamp(data.get("updatedAt") or data.get("updated_at")),
            refund=RefundInfo(
                gateway_refund_id=refund_id,
                refund_reference=str(refund_reference) if refund_reference else None,
                status=str(data.get("status")),
            ),
            **common,
        )
    if event_type in ("charge.dispute.create", "charge.dispute.resolve"):
        return _dispute_event(event_type, data, common)
    return GatewayEvent(
        kind="unknown",
        event_key=f"{event_type}:{data.get('reference') or data.get('id')}:{data.get('status')}",
        reference=data.get("reference"),
        amount=None,
        currency=None,
        occurred_at=None,
        **common,
    )


def _dispute_event(event_type: str, data: dict[str, Any], common: dict[str, Any]) -> GatewayEvent:
    transaction = data.get("transaction") or {}
    reference = transaction.get("reference") or data.get("transaction_reference")
    currency = str(data.get("currency") or transaction["currency"]).upper()
    disputed = data.get("refund_amount")
    if disputed is None:
        disputed = transaction.get("amount")
    resolution = data.get("resolution")
    if event_type == "charge.dispute.create":
        kind, status = "dispute_opened", "open"
    else:
        lost = resolution in _LOST_RESOLUTIONS or transaction.get("status") == "reversed"
        kind, status = "dispute_resolved", "lost" if lost else "won"
    dispute_id = str(data["id"])
    amount = from_subunits(disputed, currency) if disputed is not None else None
    return GatewayEvent(
        kind=kind,  # type: ignore[arg-type]
        event_key=f"{event_type}:{dispute_id}:{data.get('status')}:{resolution}",
        reference=str(reference) if reference else None,
        amount=amount,
        currency=currency,
        occurred_at=parse_timestamp(data.get("resolvedAt") or data.get("created_at")),
        gateway_ids={"dispute_id": dispute_id},
        dispute=DisputeInfo(
            gateway_dispute_id=dispute_id,
            status=status,  # type: ignore[arg-type]
            reason=data.get("category"),
            evidence_due=parse_timestamp(data.get("dueAt")),
            amount=amount,
            currency=currency,
        ),
        **common,
    )
