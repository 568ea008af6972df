"""Fake Stripe (docs/payments.md): Checkout Sessions, PaymentIntents, Refunds, webhooks.

Form-encoded requests, Idempotency-Key replay, and ``Stripe-Signature`` headers built with the
official SDK's own test helper. Every API call must pin ``Stripe-Version`` to the version this
fake speaks: real Stripe would answer an unpinned call in the account's default version, whose
shapes may differ from what the provider parses.
"""

from __future__ import annotations

import hashlib
import itertools
import secrets
import time
from typing import Any

import stripe

from tests.fakes.base import FakeGateway, RecordedRequest, Reply, SignedWebhook

_counter = itertools.count(1)
API_VERSION = "2024-06-20"  # the shapes below; events carry it as `api_version`


def _id(prefix: str) -> str:
    return f"{prefix}_test_{secrets.token_hex(6)}{next(_counter)}"


def stripe_signature_header(body: bytes, secret: str, timestamp: int | None = None) -> str:
    return stripe.WebhookSignature.generate_signature_header(
        body.decode(), secret, timestamp=timestamp or int(time.time())
    )


def _error(status: int, message: str, type_: str = "invalid_request_error", **extra: Any) -> Reply:
    return Reply(status, {"error": {"type": type_, "message": message, **extra}})


class FakeStripe(FakeGateway):
    name = "stripe"

    def __init__(
        self,
        *,
        secret_key: str = "sk_test_fakestripe000000000000000000000000",
        webhook_secret: str = "whsec_fakestripe00000000000000000000000",
    ) -> None:
        super().__init__(secret_key=secret_key)
        self.webhook_secret = webhook_secret
        self.sessions: dict[str, dict[str, Any]] = {}
        self.intents: dict[str, dict[str, Any]] = {}
        self.refunds: dict[str, dict[str, Any]] = {}
        self.disputes: dict[str, dict[str, Any]] = {}
        self.refund_initial_status = "pending"
        self._idempotent: dict[str, tuple[str, Reply]] = {}

    def signed_headers(self, body: bytes) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "Stripe-Signature": stripe_signature_header(body, self.webhook_secret),
        }

    def error_body(self, status: int) -> Any:
        return {"error": {"type": "api_error", "message": f"Fake Stripe error {status}"}}

    # --- API ------------------------------------------------------------------------------

    def route(self, request: RecordedRequest) -> Reply:
        if request.method == "GET" and request.path.startswith("/c/pay/"):
            return Reply(200, b"<html><body>Fake Stripe Checkout</body></html>")
        if not self.bearer_ok(request):
            return _error(401, "Invalid API Key provided.")
        version = request.headers.get("stripe-version")
        if version != API_VERSION:
            return _error(400, f"Stripe-Version must pin {API_VERSION}, got {version!r}.")
        if request.method == "POST":
            key = request.headers.get("idempotency-key")
            fingerprint = hashlib.sha256(f"{request.path}?".encode() + request.body).hexdigest()
            with self.lock:
                if key and key in self._idempotent:
                    stored_fingerprint, stored = self._idempotent[key]
                    if stored_fingerprint != fingerprint:
                        return _error(
                            400,
                            "Keys for idempotent requests can only be used with the same "
                            "parameters they were first used with.",
                            "idempotency_error",
                        )
                    return Reply(stored.status, stored.body, {"Idempotent-Replayed": "true"})
                reply = self._post(request)
                if key:
                    self._idempotent[key] = (fingerprint, reply)
                return reply
        if request.method == "GET" and request.path.startswith("/v1/checkout/sessions/"):
            return self._get_session(request)
        if request.method == "GET" and request.path == "/v1/refunds":
            return self._list_refunds(request)
        return _error(404, "Unrecognized request URL.")

    def _post(self, request: RecordedRequest) -> Reply:
        if request.path == "/v1/checkout/sessions":
            return self._create_session(request.form())
        if request.path == "/v1/refunds":
            return self._create_refund(request.form())
        if request.path.startswith("/v1/checkout/sessions/") and request.path.endswith("/expire"):
            return self._expire_session(request.path.split("/")[4])
        return _error(404, "Unrecognized request URL.")

    def _list_refunds(self, request: RecordedRequest) -> Reply:
        intent_id = (request.query.get("payment_intent") or [""])[-1]
        with self.lock:
            data = [dict(r) for r in self.refunds.values() if r["payment_intent"] == intent_id]
        data.sort(key=lambda r: r["created"], reverse=True)  # newest first, as Stripe lists
        return Reply(200, {"object": "list", "data": data, "has_more": False, "url": "/v1/refunds"})

    def _expire_session(self, session_id: str) -> Reply:
        with self.lock:
            session = self.sessions.get(session_id)
            if session is None:
                return _error(404, f"No such checkout.session: '{session_id}'", "resource_missing")
            if session["status"] != "open":
                return _error(
                    400,
                    f'Only Checkout Sessions with a status in ["open"] can be expired; '
                    f"this one is {session['status']}.",
                    "checkout_session_not_open",
                )
            session["status"] = "expired"
            return Reply(200, _public(session))

    def _create_session(self, form: dict[str, str]) -> Reply:
        if form.get("mode") != "payment":
            return _error(400, "Missing required param: mode.", param="mode")
        price = "line_items[0][price_data]"
        try:
            amount = int(form[f"{price}[unit_amount]"])
            quantity = int(form.get("line_items[0][quantity]", "1"))
            currency = form[f"{price}[currency]"]
        except (KeyError, ValueError):
            return _error(400, "Invalid line_items.", param="line_items")
        if currency != currency.lower() or len(currency) != 3:
            return _error(400, "Invalid currency.", param="currency")
        if not form.get("success_url"):
            return _error(400, "Missing required param: success_url.", param="success_url")
        session_id = _id("cs")
        session = {
            "id": session_id,
            "object": "checkout.session",
            "amount_subtotal": amount * quantity,
            "amount_total": amount * quantity,
            "currency": currency,
            "client_reference_id": form.get("client_reference_id"),
            "customer_email": form.get("customer_email"),
            "metadata": _nested(form, "metadata"),
            "mode": "payment",
            # Since API 2022-08-01 the PaymentIntent exists only once the customer pays.
            "payment_intent": None,
            "payment_status": "unpaid",
            "status": "open",
            "success_url": form["success_url"],
            "cancel_url": form.get("cancel_url"),
            "url": f"{self.base_url}/c/pay/{session_id}",
            "created": int(time.time()),
            "expires_at": int(time.time()) + 86400,
            "livemode": False,
            "_intent_metadata": _nested(form, "payment_intent_data[metadata]"),
        }
        self.sessions[session_id] = session
        return Reply(200, _public(session))

    def _get_session(self, request: RecordedRequest) -> Reply:
        session_id = request.path.removeprefix("/v1/checkout/sessions/")
        with self.lock:
            session = self.sessions.get(session_id)
            if session is None:
                return _error(
                    404, f"No such checkout.session: '{session_id}'", code="resource_missing"
                )
            body = _public(session)
            if "payment_intent" in request.query.get("expand[]", []) and session["payment_intent"]:
                body["payment_intent"] = dict(self.intents[session["payment_intent"]])
        return Reply(200, body)

    def _create_refund(self, form: dict[str, str]) -> Reply:
        intent = self.intents.get(form.get("payment_intent", ""))
        if intent is None:
            return _error(
                400, "No such payment_intent.", code="resource_missing", param="payment_intent"
            )
        if intent["status"] != "succeeded":
            return _error(
                400, "This PaymentIntent has not been charged.", code="charge_not_refundable"
            )
        remaining = intent["amount_received"] - intent["_refunded"]
        amount = int(form.get("amount") or remaining)
        if amount <= 0 or amount > remaining:
            return _error(
                400,
                f"Refund amount ({amount}) is greater than unrefunded amount on charge "
                f"({remaining})",
                code="amount_too_large",
                param="amount",
            )
        reason = form.get("reason")
        if reason and reason not in {"duplicate", "fraudulent", "requested_by_customer"}:
            return _error(400, "Invalid reason.", param="reason")
        intent["_refunded"] += amount
        refund = {
            "id": _id("re"),
            "object": "refund",
            "amount": amount,
            "charge": intent["latest_charge"],
            "currency": intent["currency"],
            "metadata": _nested(form, "metadata"),
            "payment_intent": intent["id"],
            "reason": reason,
            "status": self.refund_initial_status,
            "created": int(time.time()),
        }
        self.refunds[refund["id"]] = refund
        return Reply(200, dict(refund))

    # --- test helpers ---------------------------------------------------------------------

    def session_for(self, reference: str) -> dict[str, Any]:
        with self.lock:
            return next(s for s in self.sessions.values() if s["client_reference_id"] == reference)

    def _ensure_intent(self, session: dict[str, Any]) -> dict[str, Any]:
        if session["payment_intent"] is None:
            intent = {
                "id": _id("pi"),
                "object": "payment_intent",
                "amount": session["amount_total"],
                "amount_received": 0,
                "currency": session["currency"],
                "metadata": session["_intent_metadata"],
                "status": "requires_payment_method",
                "last_payment_error": None,
                "latest_charge": None,
                "created": int(time.time()),
                "_refunded": 0,
            }
            self.intents[intent["id"]] = intent
            session["payment_intent"] = intent["id"]
        return self.intents[session["payment_intent"]]

    def pay(self, reference: str, *, amount: int | None = None) -> list[SignedWebhook]:
        """The customer pays: checkout.session.completed, then payment_intent.succeeded."""
        with self.lock:
            session = self.session_for(reference)
            intent = self._ensure_intent(session)
            received = amount if amount is not None else session["amount_total"]
            intent.update(
                status="succeeded",
                amount_received=received,
                latest_charge=_id("ch"),
                last_payment_error=None,
            )
            session.update(status="complete", payment_status="paid")
            completed = _event("checkout.session.completed", _public(session))
            succeeded = _event("payment_intent.succeeded", _public(intent))
        return [self.emit(completed["type"], completed), self.emit(succeeded["type"], succeeded)]

    def decline(self, reference: str, *, message: str = "Your card was declined.") -> SignedWebhook:
        with self.lock:
            session = self.session_for(reference)
            intent = self._ensure_intent(session)
            intent["last_payment_error"] = {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "generic_decline",
                "message": message,
            }
            failed = _event("payment_intent.payment_failed", _public(intent))
        return self.emit(failed["type"], failed)

    def expire(self, reference: str) -> SignedWebhook:
        with self.lock:
            session = self.session_for(reference)
            session["status"] = "expired"
            if session["payment_intent"]:
                self.intents[session["payment_intent"]]["status"] = "canceled"
            expired = _event("checkout.session.expired", _public(session))
        return self.emit(expired["type"], expired)

    def settle_refund(self, refund_id: str, *, outcome: str = "succeeded") -> SignedWebhook:
        with self.lock:
            refund = self.refunds[refund_id]
            refund["status"] = outcome
            if outcome == "failed":
                refund["failure_reason"] = "expired_or_canceled_card"
                self.intents[refund["payment_intent"]]["_refunded"] -= refund["amount"]
            event = _event(
                "refund.updated" if outcome == "succeeded" else "refund.failed", dict(refund)
            )
        return self.emit(event["type"], event)

    def open_dispute(
        self, reference: str, *, amount: int | None = None, reason: str = "fraudulent"
    ) -> tuple[str, SignedWebhook]:
        with self.lock:
            intent = self.intents[self.session_for(reference)["payment_intent"]]
            dispute = {
                "id": _id("dp"),
                "object": "dispute",
                "amount": amount if amount is not None else intent["amount_received"],
                "currency": intent["currency"],
                "charge": intent["latest_charge"],
                "payment_intent": intent["id"],
                "reason": reason,
                "status": "needs_response",
                "evidence_details": {
                    "due_by": int(time.time()) + 7 * 86400,
                    "has_evidence": False,
                    "past_due": False,
                    "submission_count": 0,
                },
                "metadata": {},
                "created": int(time.time()),
            }
            self.disputes[dispute["id"]] = dispute
            event = _event("charge.dispute.created", dict(dispute))
        return dispute["id"], self.emit(event["type"], event)

    def close_dispute(self, dispute_id: str, *, won: bool) -> SignedWebhook:
        with self.lock:
            dispute = self.disputes[dispute_id]
            dispute["status"] = "won" if won else "lost"
            event = _event("charge.dispute.closed", dict(dispute))
        return self.emit(event["type"], event)


def _nested(form: dict[str, str], prefix: str) -> dict[str, str]:
    start = f"{prefix}["
    return {
        k[len(start) : -1]: v
        for k, v in form.items()
        if k.startswith(start) and k.count("[") == prefix.count("[") + 1
    }


def _public(obj: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in obj.items() if not k.startswith("_")}


def _event(event_type: str, obj: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": _id("evt"),
        "object": "event",
        "api_version": API_VERSION,
        "created": int(time.time()),
        "data": {"object": obj},
        "livemode": False,
        "pending_webhooks": 1,
        "request": {"id": None, "idempotency_key": None},
        "type": event_type,
    }
