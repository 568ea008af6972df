"""A development-only gateway whose hosted page is served by the shop itself.

The page (a view the app adds at ``/payments/dummy/<reference>/``) calls ``complete()`` when the
visitor clicks pay or decline, then posts the returned webhook to ``/api/webhooks/dummy/``: the
same signed-webhook path a real gateway takes, so ``make run`` shows a whole purchase offline.
The factory refuses to build it unless DEBUG is on.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any, Literal, Protocol

from django.core.exceptions import ImproperlyConfigured

from payments.providers.base import (
    CreatePaymentRequest,
    GatewayEvent,
    GatewayRefund,
    PaymentSession,
    RefundResult,
    VerifyResult,
    header,
    parse_timestamp,
    require_currency,
    signatures_match,
)
from payments.providers.errors import (
    GatewayRequestRejected,
    InvalidSignature,
    InvalidWebhookPayload,
    PaymentNotFound,
)
from payments.providers.http import decode_json
from payments.providers.money import quantize_major

GATEWAY = "dummy"
SIGNATURE_HEADER = "x-dummy-signature"
STATE_TTL_SECONDS = 7 * 24 * 3600


class StateStore(Protocol):
    """What the dummy needs to remember payments across requests (Django's cache fits)."""

    def get(self, key: str, default: Any = None) -> Any: ...

    def set(self, key: str, value: Any, timeout: int | None = None) -> Any: ...


@dataclass(frozen=True)
class SignedWebhook:
    headers: dict[str, str]
    body: bytes


def sign(raw_body: bytes, secret: str) -> str:
    return hmac.new(secret.encode(), raw_body, hashlib.sha256).hexdigest()


class DummyProvider:
    name = GATEWAY
    has_hosted_page = True

    def __init__(self, *, secret: str, site_url: str, store: StateStore, enabled: bool) -> None:
        if not enabled:
            raise ImproperlyConfigured("The dummy payment gateway only exists with DEBUG on.")
        if not secret:
            raise ImproperlyConfigured("The dummy payment gateway needs a signing secret.")
        self._secret = secret
        self._site_url = site_url.rstrip("/")
        self._store = store

    def hosted_page_url(self, reference: str) -> str:
        return f"{self._site_url}/payments/dummy/{reference}/"

    def create_payment(self, request: CreatePaymentRequest) -> PaymentSession:
        state = {
            "amount": str(quantize_major(request.amount, request.currency)),
            "currency": request.currency.upper(),
            "status": "pending",
            "callback_url": request.callback_url,
            "refunded": "0",
            "paid_at": None,
        }
        self._save(request.reference, state)
        return PaymentSession(
            reference=request.reference,
            redirect_url=self.hosted_page_url(request.reference),
            instructions=None,
            gateway_ids={},
            raw=state,
        )

    def payment_state(self, reference: str) -> dict[str, Any]:
        state = self._store.get(self._key(reference))
        if state is None:
            raise PaymentNotFound(details={"gateway": GATEWAY, "reference": reference})
        return dict(state)

    def complete(self, reference: str, outcome: Literal["succeeded", "failed"]) -> SignedWebhook:
        """What the hosted page does on pay/decline: record it and return the signed webhook."""
        state = self.payment_state(reference)
        now = datetime.now(tz=UTC).isoformat()
        state["status"] = outcome
        state["paid_at"] = now if outcome == "succeeded" else None
        self._save(reference, state)
        return self.build_webhook(
            f"charge.{outcome}", reference, Decimal(state["amount"]), state["currency"]
        )

    def build_webhook(
        self, event_type: str, reference: str, amount: Decimal, currency: str
    ) -> SignedWebhook:
        body = json.dumps(
            {
                "id": f"evt_{uuid.uuid4().hex}",
                "type": event_type,
                "reference": reference,
                "amount": str(amount),
                "currency": currency,
                "created": datetime.now(tz=UTC).isoformat(),
            },
            separators=(",", ":"),
        ).encode()
        return SignedWebhook(
            headers={
                "Content-Type": "application/json",
                "X-Dummy-Signature": sign(body, self._secret),
            },
            body=body,
        )

    def verify(
        self, reference: str, *, gateway_ids: Mapping[str, str] | None = None
    ) -> VerifyResult:
        state = self.payment_state(reference)
        return VerifyResult(
            reference=reference,
            status=state["status"],
            amount=Decimal(state["amount"]),
            currency=state["currency"],
            paid_at=parse_timestamp(state["paid_at"]),
            gateway_ids={},
            gateway_status=state["status"],
            raw=state,
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
        state = self.payment_state(reference)
        paid = Decimal(state["amount"])
        refunded = Decimal(state["refunded"])
        amount = (
            paid - refunded
            if amount is None
            else quantize_major(amount, require_currency(currency))
        )
        if state["status"] != "succeeded" or amount <= 0 or refunded + amount > paid:
            raise GatewayRequestRejected(
                "Nothing left to refund.", details={"gateway": GATEWAY, "reference": reference}
            )
        state["refunded"] = str(refunded + amount)
        self._save(reference, state)
        return RefundResult(
            reference=reference,
            status="succeeded",
            amount=amount,
            currency=state["currency"],
            gateway_refund_id=f"dummy_re_{uuid.uuid4().hex[:12]}",
            gateway_status="succeeded",
            raw=state,
        )

    def list_refunds(
        self,
        reference: str,
        *,
        gateway_ids: Mapping[str, str] | None = None,
        since: datetime | None = None,
    ) -> list[GatewayRefund]:
        return []  # its refunds are settled in the answer: none is ever left pending

    def expire_session(self, reference: str, *, gateway_ids: Mapping[str, str]) -> bool:
        return False

    def parse_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> list[GatewayEvent]:
        if not signatures_match(sign(raw_body, self._secret), header(headers, SIGNATURE_HEADER)):
            raise InvalidSignature(details={"gateway": GATEWAY})
        try:
            body = decode_json(raw_body)
            event_type = str(body["type"])
            currency = str(body["currency"])
            amount = quantize_major(Decimal(str(body["amount"])), currency)
            kind = {"charge.succeeded": "charge_succeeded", "charge.failed": "charge_failed"}
            return [
                GatewayEvent(
                    gateway=GATEWAY,
                    kind=kind.get(event_type, "unknown"),  # type: ignore[arg-type]
                    event_type=event_type,
                    event_key=str(body["id"]),
                    reference=str(body["reference"]),
                    amount=amount,
                    currency=currency,
                    occurred_at=parse_timestamp(body.get("created")),
                    raw=body,
                )
            ]
        except (ValueError, KeyError, TypeError, ArithmeticError) as exc:
            raise InvalidWebhookPayload(details={"gateway": GATEWAY}) from exc

    def _key(self, reference: str) -> str:
        return f"payments:dummy:{reference}"

    def _save(self, reference: str, state: dict[str, Any]) -> None:
        self._store.set(self._key(reference), state, STATE_TTL_SECONDS)
