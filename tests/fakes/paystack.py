"""Fake Paystack (docs/payments.md): initialize, verify, refund, signed webhooks."""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import re
import secrets
from typing import Any
from urllib.parse import parse_qs

from tests.fakes.base import FakeGateway, RecordedRequest, Reply, SignedWebhook, now_iso

CURRENCIES = {"NGN", "GHS", "ZAR", "KES", "USD"}
_REFERENCE = re.compile(r"^[A-Za-z0-9.=-]+$")
_ids = itertools.count(4099260516)


def paystack_signature(body: bytes, secret_key: str) -> str:
    return hmac.new(secret_key.encode(), body, hashlib.sha512).hexdigest()


def _bad_request(message: str, code: str = "invalid_params") -> Reply:
    return Reply(
        400,
        {
            "status": False,
            "message": message,
            "meta": {"nextStep": "Fix the request"},
            "type": "validation_error",
            "code": code,
        },
    )


class FakePaystack(FakeGateway):
    name = "paystack"

    def __init__(self, *, secret_key: str = "sk_test_fakepaystack0000000000000000000000") -> None:
        super().__init__(secret_key=secret_key)
        self.transactions: dict[str, dict[str, Any]] = {}
        self.refunds: dict[int, dict[str, Any]] = {}
        self.disputes: dict[int, dict[str, Any]] = {}

    def signed_headers(self, body: bytes) -> dict[str, str]:
        return {
            "Content-Type": "application/json",
            "x-paystack-signature": paystack_signature(body, self.secret_key),
        }

    # --- API ------------------------------------------------------------------------------

    def route(self, request: RecordedRequest) -> Reply:
        path = request.path
        if request.method == "GET" and path.startswith("/checkout/"):
            return Reply(200, b"<html><body>Fake Paystack checkout</body></html>")
        if not self.bearer_ok(request):
            return Reply(401, {"status": False, "message": "Invalid key"})
        if request.method == "POST" and path == "/transaction/initialize":
            return self._initialize(request)
        if request.method == "GET" and path.startswith("/transaction/verify/"):
            return self._verify(path.removeprefix("/transaction/verify/"))
        if request.method == "POST" and path == "/refund":
            return self._refund(request)
        if request.method == "GET" and path == "/refund":
            return self._list_refunds(request)
        if request.method == "GET" and path.startswith("/refund/"):
            refund = self.refunds.get(int(path.removeprefix("/refund/") or 0))
            if refund is None:
                return Reply(404, {"status": False, "message": "Refund not found"})
            return Reply(200, {"status": True, "message": "Refund retrieved", "data": refund})
        return Reply(404, {"status": False, "message": "Not found"})

    def _params(self, request: RecordedRequest) -> dict[str, Any]:
        if request.headers.get("content-type", "").startswith("application/json"):
            return json.loads(request.body or b"{}")
        return {k: v[-1] for k, v in parse_qs(request.body.decode()).items()}

    def _initialize(self, request: RecordedRequest) -> Reply:
        params = self._params(request)
        amount = params.get("amount")
        if not params.get("email"):
            return _bad_request("Email is required")
        if isinstance(amount, bool) or not re.fullmatch(r"[1-9][0-9]*", str(amount)):
            return _bad_request("Invalid Amount Sent")
        currency = params.get("currency", "NGN")
        if currency not in CURRENCIES:
            return _bad_request("Currency not supported by merchant", "unsupported_currency")
        reference = params.get("reference") or secrets.token_hex(5)
        if not _REFERENCE.match(reference):
            return _bad_request("Invalid reference", "invalid_reference")
        with self.lock:
            if reference in self.transactions:
                return Reply(
                    400,
                    {
                        "status": False,
                        "message": "Duplicate Transaction Reference",
                        "meta": {
                            "nextStep": "Try and create the Transaction or Charge with a "
                            "new reference"
                        },
                        "type": "validation_error",
                        "code": "duplicate_reference",
                    },
                )
            access_code = secrets.token_hex(8)
            self.transactions[reference] = {
                "id": next(_ids),
                "reference": reference,
                "requested_amount": int(amount),
                "amount": int(amount),
                "currency": currency,
                "email": params["email"],
                "metadata": params.get("metadata") or "",
                "callback_url": params.get("callback_url"),
                "access_code": access_code,
                "status": "abandoned",
                "gateway_response": "The transaction was not completed",
                "paid_at": None,
                "created_at": now_iso(),
                "refunded": 0,
                "refund_outcome": "processed",
            }
        return Reply(
            200,
            {
                "status": True,
                "message": "Authorization URL created",
                "data": {
                    "authorization_url": f"{self.base_url}/checkout/{access_code}",
                    "access_code": access_code,
                    "reference": reference,
                },
            },
        )

    def transaction_data(self, reference: str) -> dict[str, Any]:
        t = self.transactions[reference]
        return {
            "id": t["id"],
            "domain": "test",
            "status": t["status"],
            "reference": reference,
            "receipt_number": None,
            "amount": t["amount"],
            "message": None,
            "gateway_response": t["gateway_response"],
            "paid_at": t["paid_at"],
            "created_at": t["created_at"],
            "channel": "card",
            "currency": t["currency"],
            "ip_address": "197.210.54.33",
            "metadata": t["metadata"],
            "log": None,
            "fees": 0,
            "fees_split": None,
            "authorization": {
                "authorization_code": "AUTH_fake",
                "bin": "408408",
                "last4": "4081",
                "exp_month": "12",
                "exp_year": "2030",
                "channel": "card",
                "card_type": "visa ",
                "bank": "TEST BANK",
                "country_code": "NG",
                "brand": "visa",
                "reusable": True,
                "signature": "SIG_fake",
                "account_name": None,
            },
            "customer": {
                "id": 181873746,
                "first_name": None,
                "last_name": None,
                "email": t["email"],
                "customer_code": "CUS_fake",
                "phone": None,
                "metadata": None,
                "risk_action": "default",
            },
            "plan": None,
            "split": {},
            "order_id": None,
            "paidAt": t["paid_at"],
            "createdAt": t["created_at"],
            "requested_amount": t["requested_amount"],
        }

    def _verify(self, reference: str) -> Reply:
        with self.lock:
            if reference not in self.transactions:
                return Reply(400, {"status": False, "message": "Transaction reference not found"})
            data = self.transaction_data(reference)
        return Reply(200, {"status": True, "message": "Verification successful", "data": data})

    def _list_refunds(self, request: RecordedRequest) -> Reply:
        """``GET /refund?transaction=<id or reference>``: that transaction's refunds."""
        wanted = (request.query.get("transaction") or [""])[-1]
        with self.lock:
            data = [
                {**r, "transaction": r["transaction"]["id"]}
                for r in self.refunds.values()
                if wanted in (str(r["transaction"]["id"]), r["transaction"]["reference"])
            ]
        body = {"status": True, "message": "Refunds retrieved", "data": data}
        return Reply(200, {**body, "meta": {"total": len(data), "perPage": 50, "page": 1}})

    def _refund(self, request: RecordedRequest) -> Reply:
        params = self._params(request)
        key = str(params.get("transaction", ""))
        with self.lock:
            t = self.transactions.get(key) or next(
                (t for t in self.transactions.values() if str(t["id"]) == key), None
            )
            if t is None:
                return _bad_request("Transaction not found", "transaction_not_found")
            if t["status"] != "success":
                return _bad_request(
                    "Transaction has not been completed", "transaction_not_refundable"
                )
            remaining = t["amount"] - t["refunded"]
            amount = int(params.get("amount") or remaining)
            if amount <= 0 or amount > remaining:
                return _bad_request("Refund amount cannot be greater than transaction amount")
            t["refunded"] += amount
            refund = {
                "transaction": {
                    "id": t["id"],
                    "reference": t["reference"],
                    "amount": t["amount"],
                    "currency": t["currency"],
                },
                "integration": 412829,
                "deducted_amount": 0,
                "channel": None,
                "merchant_note": params.get("merchant_note", ""),
                "customer_note": params.get("customer_note", ""),
                "status": "pending",
                "refunded_by": "test@example.com",
                "expected_at": now_iso(),
                "currency": t["currency"],
                "domain": "test",
                "amount": amount,
                "fully_deducted": False,
                "id": next(_ids),
                "createdAt": now_iso(),
                "updatedAt": now_iso(),
            }
            self.refunds[refund["id"]] = refund
        return Reply(
            200,
            {"status": True, "message": "Refund has been queued for processing", "data": refund},
        )

    # --- test helpers ---------------------------------------------------------------------

    def pay(self, reference: str, *, amount: int | None = None, currency: str | None = None):
        """The customer pays (optionally a different amount/currency): charge.success is sent."""
        with self.lock:
            t = self.transactions[reference]
            t.update(status="success", gateway_response="Successful", paid_at=now_iso())
            if amount is not None:
                t["amount"] = amount
            if currency is not None:
                t["currency"] = currency
            data = self.transaction_data(reference)
        data.pop("paidAt"), data.pop("createdAt"), data.pop("requested_amount")
        return self.emit("charge.success", {"event": "charge.success", "data": data})

    def decline(self, reference: str, message: str = "Declined") -> None:
        """A failed charge. Paystack sends no webhook for it: verify is how the shop learns."""
        with self.lock:
            self.transactions[reference].update(status="failed", gateway_response=message)

    def set_status(self, reference: str, status: str) -> None:
        """Any documented verify status: abandoned, ongoing, pending, processing, queued..."""
        with self.lock:
            self.transactions[reference]["status"] = status

    def settle_refund(
        self, refund_id: int, *, outcome: str = "processed", with_progress: bool = False
    ) -> list[SignedWebhook]:
        """Finish a queued refund: refund.processed or refund.failed (after pending/processing)."""
        with self.lock:
            refund = self.refunds[refund_id]
            t = self.transactions[refund["transaction"]["reference"]]
            refund["status"] = outcome
            if outcome == "failed":
                t["refunded"] -= refund["amount"]
            elif t["refunded"] >= t["amount"]:
                t["status"] = "reversed"
        stages = (["pending", "processing"] if with_progress else []) + [outcome]
        sent = []
        for stage in stages:
            amount: Any = refund["amount"] if stage == "failed" else str(refund["amount"])
            data = {
                "status": stage,
                "transaction_reference": t["reference"],
                "refund_reference": f"RRF_{refund_id}",
                "amount": amount,
                "currency": refund["currency"],
                "processor": "mpgs_zen",
                "customer": {"first_name": None, "last_name": None, "email": t["email"]},
                "integration": 412829,
                "domain": "test",
            }
            sent.append(self.emit(f"refund.{stage}", {"event": f"refund.{stage}", "data": data}))
        return sent

    def refund_from_dashboard(self, reference: str, *, amount: int | None = None):
        """A refund made in Paystack's dashboard: the shop made no call, it only gets the
        webhooks. Returns them (refund.processed last)."""
        params = {"transaction": reference, **({"amount": amount} if amount else {})}
        request = RecordedRequest(
            "POST", "/refund", {}, {"content-type": "application/json"}, json.dumps(params).encode()
        )
        reply = self._refund(request)
        assert reply.status == 200, reply.body
        return self.settle_refund(reply.body["data"]["id"])

    def open_dispute(
        self, reference: str, *, amount: int | None = None
    ) -> tuple[int, SignedWebhook]:
        with self.lock:
            t = self.transactions[reference]
            dispute = {
                "id": next(_ids),
                "refund_amount": amount if amount is not None else t["amount"],
                "currency": t["currency"],
                "status": "awaiting-merchant-feedback",
                "resolution": None,
                "domain": "test",
                "transaction": {
                    "id": t["id"],
                    "status": t["status"],
                    "reference": reference,
                    "amount": t["amount"],
                    "currency": t["currency"],
                },
                "transaction_reference": reference,
                "category": "chargeback",
                "customer": {"email": t["email"]},
                "bin": "408408",
                "last4": "4081",
                "dueAt": "2030-01-08T10:00:00.000Z",
                "resolvedAt": None,
                "evidence": None,
                "attachments": None,
                "note": None,
                "history": [],
                "messages": [],
                "created_at": now_iso(),
                "updated_at": now_iso(),
            }
            self.disputes[dispute["id"]] = dispute
        return dispute["id"], self.emit(
            "charge.dispute.create", {"event": "charge.dispute.create", "data": dict(dispute)}
        )

    def resolve_dispute(self, dispute_id: int, *, resolution: str = "declined") -> SignedWebhook:
        """``declined``: the merchant fought and kept the money; ``merchant-accepted``: lost."""
        with self.lock:
            dispute = self.disputes[dispute_id]
            dispute.update(status="resolved", resolution=resolution, resolvedAt=now_iso())
            if resolution != "declined":
                self.transactions[dispute["transaction_reference"]]["status"] = "reversed"
                dispute["transaction"]["status"] = "reversed"
        return self.emit(
            "charge.dispute.resolve", {"event": "charge.dispute.resolve", "data": dict(dispute)}
        )
