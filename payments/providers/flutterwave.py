"""Flutterwave v3: hosted payment link, verify by tx_ref, refunds, ``verif-hash`` webhooks.

Amounts travel in major units (7500.00 NGN is ``7500.00``), written as exact JSON numbers.
The webhook's ``verif-hash`` is a shared secret, not a signature over the body, so events are
marked untrusted: the caller confirms them with ``verify()`` before acting on them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from payments.providers.base import (
    CreatePaymentRequest,
    GatewayEvent,
    PaymentSession,
    RefundResult,
    VerifyResult,
    VerifyStatus,
    header,
    parse_timestamp,
    reading_gateway_answer,
    require_currency,
    signatures_match,
)
from payments.providers.errors import (
    GatewayBadResponse,
    GatewayRequestRejected,
    InvalidSignature,
    InvalidWebhookPayload,
    PaymentNotFound,
)
from payments.providers.http import GatewayHttpClient, GatewayResponse, HttpConfig, decode_json
from payments.providers.money import quantize_major

GATEWAY = "flutterwave"
DEFAULT_BASE_URL = "https://api.flutterwave.com"
SIGNATURE_HEADER = "verif-hash"
_VERIFY_STATUSES: dict[str, VerifyStatus] = {
    "successful": "succeeded",
    "failed": "failed",
    "cancelled": "abandoned",
    "pending": "pending",
}
_REFUND_STATUSES = {
    "completed": "succeeded",
    "successful": "succeeded",
    "pending": "pending",
    "pending-review": "pending",
    "failed": "failed",
}


def _major(value: Any, currency: str) -> Decimal:
    """A gateway amount in major units (JSON number or numeric string) as an exact Decimal."""
    if isinstance(value, bool) or not isinstance(value, int | str | Decimal):
        raise TypeError(f"amount is not a number: {value!r}")
    return quantize_major(Decimal(value), currency)


class FlutterwaveProvider:
    name = GATEWAY
    has_hosted_page = True

    def __init__(
        self,
        *,
        secret_key: str,
        webhook_hash: str,
        base_url: str = DEFAULT_BASE_URL,
        http: HttpConfig | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        if not secret_key:
            raise ValueError("Flutterwave needs a secret key (FLUTTERWAVE_SECRET_KEY).")
        self._webhook_hash = webhook_hash
        self._client = GatewayHttpClient(
            gateway=GATEWAY,
            base_url=base_url,
            headers={"Authorization": f"Bearer {secret_key}", "Accept": "application/json"},
            config=http or HttpConfig(),
            sleep=sleep,
        )

    # --- API calls ------------------------------------------------------------------------

    def create_payment(self, request: CreatePaymentRequest) -> PaymentSession:
        currency = request.currency.upper()
        payload = {
            "tx_ref": request.reference,
            "amount": quantize_major(request.amount, currency),
            "currency": currency,
            "redirect_url": request.callback_url,
            "customer": {"email": request.email},
            "meta": {**request.metadata, "reference": request.reference},
            "customizations": {"title": request.description or request.reference},
        }
        response = self._client.post_json("/v3/payments", payload)
        data = self._data(response, "create payment")
        with reading_gateway_answer(GATEWAY, "create payment"):
            return PaymentSession(
                reference=request.reference,
                redirect_url=str(data["link"]),
                instructions=None,
                gateway_ids={},
                raw=response.body,
            )

    def verify(
        self, reference: str, *, gateway_ids: Mapping[str, str] | None = None
    ) -> VerifyResult:
        transaction_id = (gateway_ids or {}).get("transaction_id")
        if transaction_id:
            # Preferred when known (webhook or redirect ``transaction_id``): the by-id endpoint
            # is the one Flutterwave's own SDK maintainers point to for v3.
            response = self._client.get(f"/v3/transactions/{quote(transaction_id, safe='')}/verify")
        else:
            response = self._client.get(
                "/v3/transactions/verify_by_reference", params={"tx_ref": reference}
            )
        if _not_found(response):
            raise PaymentNotFound(details={"gateway": GATEWAY, "reference": reference})
        data = self._data(response, "verify")
        with reading_gateway_answer(GATEWAY, "verify"):
            if data["tx_ref"] != reference:
                raise ValueError("verify answered for another tx_ref")
            currency = str(data["currency"]).upper()
            gateway_status = str(data["status"])
            status = _VERIFY_STATUSES.get(gateway_status, "pending")
            return VerifyResult(
                reference=reference,
                status=status,
                amount=_major(data["amount"], currency),
                currency=currency,
                paid_at=parse_timestamp(data.get("created_at")) if status == "succeeded" else None,
                gateway_ids={"transaction_id": str(data["id"]), "flw_ref": str(data["flw_ref"])},
                gateway_status=gateway_status,
                failure_reason=None if status == "succeeded" else data.get("processor_response"),
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
        ids = dict(gateway_ids or {})
        transaction_id = ids.get("transaction_id")
        payload: dict[str, Any] = {"comments": reason} if reason else {}
        if not transaction_id or amount is None:
            # The refund URL needs Flutterwave's id, a full refund needs the charged amount: a
            # verify (a safe GET) gives both.
            verified = self.verify(reference)
            transaction_id = verified.gateway_ids["transaction_id"]
            if amount is None:
                amount, currency = verified.amount, verified.currency
        payload["amount"] = quantize_major(amount, require_currency(currency))  # type: ignore[arg-type]
        response = self._client.post_json(f"/v3/transactions/{transaction_id}/refund", payload)
        data = self._data(response, "refund")
        with reading_gateway_answer(GATEWAY, "refund"):
            gateway_status = str(data["status"])
            refund_currency = require_currency(currency)
            return RefundResult(
                reference=reference,
                status=_REFUND_STATUSES.get(gateway_status, "pending"),  # type: ignore[arg-type]
                amount=_major(data["amount_refunded"], refund_currency),
                currency=refund_currency,
                gateway_refund_id=str(data["id"]),
                gateway_status=gateway_status,
                raw=response.body,
            )

    def _data(self, response: GatewayResponse, call: str) -> dict[str, Any]:
        body = response.body
        if not isinstance(body, dict):
            raise GatewayBadResponse(details={"gateway": GATEWAY, "call": call})
        if response.status_code >= 400 or body.get("status") != "success":
            raise GatewayRequestRejected(
                str(body.get("message") or "Flutterwave refused the request."),
                details={"gateway": GATEWAY, "call": call, "status": response.status_code},
            )
        data = body.get("data")
        if not isinstance(data, dict):
            raise GatewayBadResponse(details={"gateway": GATEWAY, "call": call})
        return data

    # --- Webhooks -------------------------------------------------------------------------

    def parse_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> list[GatewayEvent]:
        if not self._webhook_hash or not signatures_match(
            self._webhook_hash, header(headers, SIGNATURE_HEADER)
        ):
            raise InvalidSignature(details={"gateway": GATEWAY})
        try:
            body = decode_json(raw_body)
            event_type = str(body.get("event") or body.get("event.type") or "")
            data = body.get("data")
        except (ValueError, AttributeError) as exc:
            raise InvalidWebhookPayload(details={"gateway": GATEWAY}) from exc
        with reading_gateway_answer(GATEWAY, f"webhook {event_type}"):
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


def _not_found(response: GatewayResponse) -> bool:
    body = response.body
    return (
        response.status_code in (400, 404)
        and isinstance(body, dict)
        and "no transaction was found" in str(body.get("message", "")).lower()
    )


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
        amount=_major(data["amount"], currency),
        currency=currency,
        occurred_at=parse_timestamp(data.get("created_at")),
        gateway_ids={"transaction_id": str(data["id"]), "flw_ref": str(data.get("flw_ref"))},
        trusted=False,
        failure_reason=None if status == "successful" else data.get("processor_response"),
        raw=body,
    )
