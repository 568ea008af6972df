"""Flutterwave v3 API calls: hosted payment link, verify by tx_ref, refunds, chargebacks listed
through ``GET /v3/chargebacks`` (polled: see ``list_chargebacks``). Webhooks and chargeback
items become events in ``flutterwave_events``.

Amounts travel in major units (7500.00 NGN is ``7500.00``), written as exact JSON numbers.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from payments.providers.base import (
    CreatePaymentRequest,
    GatewayEvent,
    GatewayRefund,
    PaymentSession,
    RefundResult,
    VerifyResult,
    VerifyStatus,
    parse_timestamp,
    reading_gateway_answer,
    require_currency,
)
from payments.providers.errors import (
    GatewayBadResponse,
    GatewayOutcomeUnknown,
    GatewayRequestRejected,
    PaymentNotFound,
)
from payments.providers.flutterwave_events import (
    CHARGEBACK_STATUSES,
    GATEWAY,
    chargeback_event,
    major_units,
    parse_hashed_webhook,
)
from payments.providers.http import GatewayHttpClient, GatewayResponse, HttpConfig
from payments.providers.money import quantize_major

DEFAULT_BASE_URL = "https://api.flutterwave.com"
_VERIFY_STATUSES: dict[str, VerifyStatus] = {
    "successful": "succeeded",
    "failed": "failed",
    "cancelled": "abandoned",
    "pending": "pending",
}
MAX_CHARGEBACK_PAGES = 50  # per status: 1,000 chargebacks at the documented page size of 20
MAX_REFUND_PAGES = 50
_REFUND_STATUSES = {
    "completed": "succeeded",
    "successful": "succeeded",
    "pending": "pending",
    "pending-review": "pending",
    "failed": "failed",
}


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
        self._webhook_hash = webhook_hash
        self._client = GatewayHttpClient.with_bearer_key(
            gateway=GATEWAY,
            display_name="Flutterwave",
            secret_key=secret_key,
            key_setting="FLUTTERWAVE_SECRET_KEY",
            base_url=base_url,
            http=http,
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
                amount=major_units(data["amount"], currency),
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
        response = self._client.post_json(
            f"/v3/transactions/{transaction_id}/refund", payload, moves_money=True
        )
        data = self._data(response, "refund", moves_money=True)
        with reading_gateway_answer(GATEWAY, "refund", accepted=True):
            gateway_status = str(data["status"])
            refund_currency = require_currency(currency)
            return RefundResult(
                reference=reference,
                status=_REFUND_STATUSES.get(gateway_status, "pending"),  # type: ignore[arg-type]
                amount=major_units(data["amount_refunded"], refund_currency),
                currency=refund_currency,
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
        """``GET /v3/refunds`` lists the account's refunds by date only: the pages from the day
        before ``since`` on, kept where ``tx_id`` is this payment's transaction (a verify, a
        safe GET, gives its id when we do not have it)."""
        transaction_id = (gateway_ids or {}).get("transaction_id") or self.verify(
            reference
        ).gateway_ids["transaction_id"]
        base = {"from": (since - timedelta(days=1)).date().isoformat()} if since else {}
        refunds: list[GatewayRefund] = []
        for page in range(1, MAX_REFUND_PAGES + 1):
            response = self._client.get("/v3/refunds", params={**base, "page": str(page)})
            items, total_pages = self._listing_page(response, "list refunds")
            with reading_gateway_answer(GATEWAY, "list refunds"):
                refunds.extend(
                    _gateway_refund(item) for item in items if str(item["tx_id"]) == transaction_id
                )
            if page >= total_pages:
                break
        return refunds

    def expire_session(self, reference: str, *, gateway_ids: Mapping[str, str]) -> bool:
        return False  # v3 has no call that closes a hosted payment link

    def list_chargebacks(self, since: datetime | None = None) -> list[GatewayEvent]:
        """Chargebacks created since ``since`` (whole days), one dispute event per chargeback.

        Flutterwave sends no documented dispute webhook, so this is how disputes are learnt.
        The event key names the chargeback and its status: polling the same state again gives
        the same key, which the caller's unique (gateway, event_key) turns into a no-op.
        A safe GET: retried on 5xx and connection errors like ``verify``.
        """
        base: dict[str, str] = {"from": since.date().isoformat()} if since else {}
        events: dict[str, GatewayEvent] = {}
        for status in CHARGEBACK_STATUSES:
            page = 1
            while True:
                response = self._client.get(
                    "/v3/chargebacks", params={**base, "status": status, "page": str(page)}
                )
                items, total_pages = self._listing_page(response, "list chargebacks")
                with reading_gateway_answer(GATEWAY, "list chargebacks"):
                    for item in items:
                        event = chargeback_event(item)
                        events[event.event_key] = event
                if page >= min(total_pages, MAX_CHARGEBACK_PAGES):
                    break
                page += 1
        return sorted(events.values(), key=lambda e: e.event_key)

    def _listing_page(
        self, response: GatewayResponse, call: str
    ) -> tuple[list[dict[str, Any]], int]:
        body = self._envelope(response, call)
        items = body.get("data")
        if items is None:
            items = []
        if not isinstance(items, list) or not all(isinstance(i, dict) for i in items):
            raise GatewayBadResponse(details={"gateway": GATEWAY, "call": call})
        with reading_gateway_answer(GATEWAY, call):
            page_info = (body.get("meta") or {}).get("page_info") or {}
            total_pages = int(page_info.get("total_pages") or 1)
        return items, total_pages

    def _envelope(
        self, response: GatewayResponse, call: str, *, moves_money: bool = False
    ) -> dict[str, Any]:
        body = response.body
        if not isinstance(body, dict):
            if moves_money and response.status_code < 300:
                raise GatewayOutcomeUnknown(details={"gateway": GATEWAY, "call": call})
            raise GatewayBadResponse(details={"gateway": GATEWAY, "call": call})
        if response.status_code >= 400 or body.get("status") != "success":
            raise GatewayRequestRejected(
                str(body.get("message") or "Flutterwave refused the request."),
                details={"gateway": GATEWAY, "call": call, "status": response.status_code},
            )
        return body

    def _data(
        self, response: GatewayResponse, call: str, *, moves_money: bool = False
    ) -> dict[str, Any]:
        body = self._envelope(response, call, moves_money=moves_money)
        data = body.get("data")
        if not isinstance(data, dict):
            if moves_money:  # the envelope said success
                raise GatewayOutcomeUnknown(details={"gateway": GATEWAY, "call": call})
            raise GatewayBadResponse(details={"gateway": GATEWAY, "call": call})
        return data

    # --- Webhooks (read in flutterwave_events) --------------------------------------------

    def parse_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> list[GatewayEvent]:
        return parse_hashed_webhook(headers, raw_body, webhook_hash=self._webhook_hash)


def _gateway_refund(item: dict[str, Any]) -> GatewayRefund:
    currency = str(item["currency"]).upper() if item.get("currency") else None
    gateway_status = str(item["status"])
    amount = item["amount_refunded"]
    return GatewayRefund(
        gateway_refund_id=str(item["id"]),
        status=_REFUND_STATUSES.get(gateway_status, "pending"),  # type: ignore[arg-type]
        amount=major_units(amount, currency) if currency else Decimal(str(amount)),
        currency=currency,
        created_at=parse_timestamp(item.get("created_at")),
        gateway_status=gateway_status,
    )


def _not_found(response: GatewayResponse) -> bool:
    body = response.body
    return (
        response.status_code in (400, 404)
        and isinstance(body, dict)
        and "no transaction was found" in str(body.get("message", "")).lower()
    )
