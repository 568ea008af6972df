"""Stripe: hosted Checkout Session, verify by session + PaymentIntent, Refunds; signed webhooks
are read in ``stripe_events``.

API calls go through our own HTTP client rather than the ``stripe`` SDK so that every gateway
shares one timeout/retry/error policy and tests can inject the backoff sleep; Stripe's
``Idempotency-Key`` makes its POSTs safe to retry, and we send one on every POST. The SDK is
used where it is the reference: webhook signature verification.

Every call names the API version it was written against (``Stripe-Version``,
``STRIPE_API_VERSION``): without it Stripe answers in the account's default version, which
changes when someone upgrades the account in the dashboard.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime
from decimal import Decimal
from typing import Any

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
    PaymentDeclined,
    PaymentNotFound,
)
from payments.providers.http import GatewayHttpClient, GatewayResponse, HttpConfig
from payments.providers.money import from_subunits, to_subunits
from payments.providers.stripe_events import GATEWAY, id_of, parse_signed_webhook

DEFAULT_API_BASE = "https://api.stripe.com"
# The API version this module's requests and parsing follow (settings.STRIPE_API_VERSION).
API_VERSION = "2024-06-20"
_REFUND_REASONS = frozenset({"duplicate", "fraudulent", "requested_by_customer"})
_REFUND_STATUSES = {
    "pending": "pending",
    "requires_action": "pending",
    "succeeded": "succeeded",
    "failed": "failed",
    "canceled": "failed",
}


def form_fields(params: Mapping[str, Any], prefix: str = "") -> list[tuple[str, str]]:
    """Stripe's form encoding: {"a": {"b": [{"c": 1}]}} -> [("a[b][0][c]", "1")]."""
    fields: list[tuple[str, str]] = []
    for key, value in params.items():
        name = f"{prefix}[{key}]" if prefix else str(key)
        if isinstance(value, Mapping):
            fields.extend(form_fields(value, name))
        elif isinstance(value, list | tuple):
            for index, item in enumerate(value):
                item_name = f"{name}[{index}]"
                if isinstance(item, Mapping):
                    fields.extend(form_fields(item, item_name))
                else:
                    fields.append((item_name, str(item)))
        elif value is not None:
            fields.append((name, str(value).lower() if isinstance(value, bool) else str(value)))
    return fields


class StripeProvider:
    name = GATEWAY
    has_hosted_page = True

    def __init__(
        self,
        *,
        secret_key: str,
        webhook_secret: str,
        api_base: str = DEFAULT_API_BASE,
        api_version: str = API_VERSION,
        http: HttpConfig | None = None,
        sleep: Callable[[float], None] | None = None,
    ) -> None:
        if not api_version:
            raise ValueError("Stripe needs an API version to pin (STRIPE_API_VERSION).")
        self._webhook_secret = webhook_secret
        self._client = GatewayHttpClient.with_bearer_key(
            gateway=GATEWAY,
            display_name="Stripe",
            secret_key=secret_key,
            key_setting="STRIPE_SECRET_KEY",
            base_url=api_base,
            http=http,
            sleep=sleep,
            accept_json=False,
            extra_headers={"Stripe-Version": api_version},
        )

    # --- API calls ------------------------------------------------------------------------

    def create_payment(self, request: CreatePaymentRequest) -> PaymentSession:
        currency = request.currency.upper()
        our_metadata = {**request.metadata, "reference": request.reference}
        params = {
            "mode": "payment",
            "line_items": [
                {
                    "price_data": {
                        "currency": currency.lower(),
                        "unit_amount": to_subunits(request.amount, currency),
                        "product_data": {"name": request.description or request.reference},
                    },
                    "quantity": 1,
                }
            ],
            "success_url": request.callback_url,
            "cancel_url": request.cancel_url or request.callback_url,
            "client_reference_id": request.reference,
            "customer_email": request.email,
            "metadata": our_metadata,
            "payment_intent_data": {"metadata": our_metadata},
        }
        # One reference is one payment attempt, so it makes a stable idempotency key.
        response = self._client.post_form(
            "/v1/checkout/sessions",
            form_fields(params),
            idempotency_key=f"checkout-session-{request.reference}",
        )
        session = self._object(response, "create checkout session")
        with reading_gateway_answer(GATEWAY, "create checkout session"):
            gateway_ids = {"checkout_session_id": str(session["id"])}
            if session.get("payment_intent"):
                gateway_ids["payment_intent_id"] = id_of(session["payment_intent"])
            return PaymentSession(
                reference=request.reference,
                redirect_url=str(session["url"]),
                instructions=None,
                gateway_ids=gateway_ids,
                raw=response.body,
            )

    def verify(
        self, reference: str, *, gateway_ids: Mapping[str, str] | None = None
    ) -> VerifyResult:
        """Needs ``gateway_ids['checkout_session_id']`` from create_payment (Stripe cannot look a
        session up by client_reference_id without its eventually-consistent search API);
        without it raises PaymentNotFound."""
        session_id = (gateway_ids or {}).get("checkout_session_id")
        if not session_id:
            # No session was ever opened for this reference (creating it failed): Stripe has
            # nothing to tell, as Paystack and Flutterwave answer "not found" for a reference
            # they never saw.
            raise PaymentNotFound(
                details={"gateway": GATEWAY, "reference": reference, "checkout_session_id": None}
            )
        response = self._client.get(
            f"/v1/checkout/sessions/{session_id}", params={"expand[]": "payment_intent"}
        )
        if response.status_code == 404:
            raise PaymentNotFound(details={"gateway": GATEWAY, "reference": reference})
        session = self._object(response, "retrieve checkout session")
        with reading_gateway_answer(GATEWAY, "retrieve checkout session"):
            if session.get("client_reference_id") != reference:
                raise ValueError("checkout session belongs to another reference")
            intent = session.get("payment_intent")
            intent = intent if isinstance(intent, dict) else None
            status, failure = _verify_status(session, intent)
            currency = str(session["currency"]).upper()
            charged = intent.get("amount_received") if intent and status == "succeeded" else None
            ids = {"checkout_session_id": str(session["id"])}
            if session.get("payment_intent"):
                ids["payment_intent_id"] = id_of(session["payment_intent"])
            if intent and intent.get("latest_charge"):
                ids["charge_id"] = id_of(intent["latest_charge"])
            return VerifyResult(
                reference=reference,
                status=status,
                amount=from_subunits(
                    charged if charged is not None else session["amount_total"], currency
                ),
                currency=currency,
                # Stripe exposes no payment time on the session or intent without expanding
                # the charge; the webhook's event time is the one to record.
                paid_at=None,
                gateway_ids=ids,
                gateway_status=f"{session['status']}/{session['payment_status']}"
                + (f"/{intent['status']}" if intent else ""),
                failure_reason=failure,
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
        intent_id = self._intent_id(reference, gateway_ids)
        params: dict[str, Any] = {
            "payment_intent": intent_id,
            "metadata": {"reference": reference, "reason": reason[:500]},
        }
        if reason in _REFUND_REASONS:
            params["reason"] = reason
        if amount is not None:
            params["amount"] = to_subunits(amount, require_currency(currency))
        response = self._client.post_form(
            "/v1/refunds",
            form_fields(params),
            idempotency_key=f"refund-{idempotency_key}" if idempotency_key else None,
            moves_money=True,
        )
        refund = self._object(response, "create refund", moves_money=True)
        with reading_gateway_answer(GATEWAY, "create refund", accepted=True):
            listed = _gateway_refund(refund)
            return RefundResult(
                reference=reference,
                status=listed.status,
                amount=listed.amount,
                currency=listed.currency,
                gateway_refund_id=listed.gateway_refund_id,
                gateway_status=listed.gateway_status,
                raw=response.body,
            )

    def list_refunds(
        self,
        reference: str,
        *,
        gateway_ids: Mapping[str, str] | None = None,
        since: datetime | None = None,
    ) -> list[GatewayRefund]:
        """``GET /v1/refunds?payment_intent=…``: the payment intent's refunds (one page of 100,
        far more than one payment is ever refunded in)."""
        intent_id = self._intent_id(reference, gateway_ids)
        response = self._client.get(
            "/v1/refunds", params={"payment_intent": intent_id, "limit": "100"}
        )
        listing = self._object(response, "list refunds")
        with reading_gateway_answer(GATEWAY, "list refunds"):
            return [_gateway_refund(item) for item in listing["data"]]

    def expire_session(self, reference: str, *, gateway_ids: Mapping[str, str]) -> bool:
        """``POST /v1/checkout/sessions/{id}/expire``: the page can no longer be paid. A session
        that is no longer open (paid, or expired already) is refused by Stripe: False."""
        session_id = gateway_ids.get("checkout_session_id")
        if not session_id:
            return False
        response = self._client.post_form(
            f"/v1/checkout/sessions/{session_id}/expire",
            [],
            idempotency_key=f"expire-session-{reference}",
        )
        if response.status_code >= 400:
            return False
        session = self._object(response, "expire checkout session")
        return session.get("status") == "expired"

    def _intent_id(self, reference: str, gateway_ids: Mapping[str, str] | None) -> str:
        intent_id = (gateway_ids or {}).get("payment_intent_id")
        if intent_id:
            return intent_id
        # Paid without the intent's id on record (e.g. learnt from an event that did not carry
        # it): the checkout session knows it. No session either: PaymentNotFound.
        intent_id = self.verify(reference, gateway_ids=gateway_ids).gateway_ids.get(
            "payment_intent_id"
        )
        if not intent_id:
            raise PaymentNotFound(
                details={"gateway": GATEWAY, "reference": reference, "payment_intent_id": None}
            )
        return intent_id

    def _object(
        self, response: GatewayResponse, call: str, *, moves_money: bool = False
    ) -> dict[str, Any]:
        body = response.body
        if not isinstance(body, dict):
            if moves_money and response.status_code < 300:
                raise GatewayOutcomeUnknown(details={"gateway": GATEWAY, "call": call})
            raise GatewayBadResponse(details={"gateway": GATEWAY, "call": call})
        if response.status_code >= 400:
            error = body.get("error") if isinstance(body.get("error"), dict) else {}
            details = {
                "gateway": GATEWAY,
                "call": call,
                "status": response.status_code,
                "gateway_code": error.get("code"),
                "type": error.get("type"),
            }
            message = str(error.get("message") or "Stripe refused the request.")
            if error.get("type") == "card_error" or response.status_code == 402:
                raise PaymentDeclined(message, details=details)
            raise GatewayRequestRejected(message, details=details)
        return body

    # --- Webhooks (read in stripe_events) -------------------------------------------------

    def parse_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> list[GatewayEvent]:
        return parse_signed_webhook(headers, raw_body, webhook_secret=self._webhook_secret)


def _gateway_refund(refund: dict[str, Any]) -> GatewayRefund:
    currency = str(refund["currency"]).upper()
    gateway_status = str(refund["status"])
    return GatewayRefund(
        gateway_refund_id=str(refund["id"]),
        status=_REFUND_STATUSES.get(gateway_status, "pending"),  # type: ignore[arg-type]
        amount=from_subunits(refund["amount"], currency),
        currency=currency,
        created_at=parse_timestamp(refund.get("created")),
        gateway_status=gateway_status,
    )


def _verify_status(
    session: dict[str, Any], intent: dict[str, Any] | None
) -> tuple[VerifyStatus, str | None]:
    error = (intent or {}).get("last_payment_error") or None
    failure = error.get("message") if isinstance(error, dict) else None
    if session["payment_status"] == "paid" or (intent and intent.get("status") == "succeeded"):
        return "succeeded", None
    if intent and intent.get("status") == "canceled":
        return "failed", failure or "canceled"
    if session["status"] == "expired":
        return ("failed", failure) if failure else ("abandoned", None)
    # Still open (a declined card can be retried on the same page) or an async method pending.
    return "pending", failure
