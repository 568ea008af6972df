"""Fake Flutterwave v3 (docs/payments.md): payments link, verify, refund, verif-hash webhooks,
and ``GET /v3/chargebacks`` over chargebacks a test opens and resolves (no webhook for those).

Amounts are major units. Flutterwave's JSON numbers are written as numbers (the provider reads
them as Decimal).
"""

from __future__ import annotations

import itertools
import json
import secrets
from datetime import UTC, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from tests.fakes.base import FakeGateway, RecordedRequest, Reply, SignedWebhook, now_iso

_ids = itertools.count(288200108)


def _error(status: int, message: str) -> Reply:
    return Reply(status, {"status": "error", "message": message, "data": None})


class FakeFlutterwave(FakeGateway):
    name = "flutterwave"

    def __init__(
        self,
        *,
        secret_key: str = "FLWSECK_TEST-fakeflutterwave00000000000000-X",
        webhook_hash: str = "fake-flutterwave-secret-hash",
    ) -> None:
        super().__init__(secret_key=secret_key)
        self.webhook_hash = webhook_hash
        self.transactions: dict[str, dict[str, Any]] = {}
        self.refunds: dict[int, dict[str, Any]] = {}
        self.chargebacks: dict[int, dict[str, Any]] = {}
        self.chargeback_page_size = 20

    def signed_headers(self, body: bytes) -> dict[str, str]:
        return {"Content-Type": "application/json", "verif-hash": self.webhook_hash}

    def error_body(self, status: int) -> Any:
        return {
            "status": "error",
            "message": "An error occurred. Please contact support",
            "data": None,
        }

    # --- API ------------------------------------------------------------------------------

    def route(self, request: RecordedRequest) -> Reply:
        path = request.path
        if request.method == "GET" and path.startswith("/v3/hosted/pay/"):
            return Reply(200, b"<html><body>Fake Flutterwave checkout</body></html>")
        if not self.bearer_ok(request):
            return _error(401, "Invalid authorization key")
        if request.method == "POST" and path == "/v3/payments":
            return self._create(request)
        if request.method == "GET" and path == "/v3/transactions/verify_by_reference":
            tx_ref = (request.query.get("tx_ref") or [""])[-1]
            with self.lock:
                t = self.transactions.get(tx_ref)
                return self._verified(t)
        if (
            request.method == "GET"
            and path.startswith("/v3/transactions/")
            and path.endswith("/verify")
        ):
            with self.lock:
                return self._verified(self._by_id(path.split("/")[3]))
        if (
            request.method == "POST"
            and path.startswith("/v3/transactions/")
            and path.endswith("/refund")
        ):
            return self._refund(path.split("/")[3], request)
        if request.method == "GET" and path == "/v3/chargebacks":
            return self._list_chargebacks(request)
        if request.method == "GET" and path == "/v3/refunds":
            return self._list_refunds(request)
        return _error(404, "Not found")

    def _by_id(self, transaction_id: str) -> dict[str, Any] | None:
        return next((t for t in self.transactions.values() if str(t["id"]) == transaction_id), None)

    def _create(self, request: RecordedRequest) -> Reply:
        try:
            params = json.loads(request.body, parse_float=Decimal)
            amount = Decimal(str(params["amount"]))
        except (ValueError, KeyError, InvalidOperation):
            return _error(400, "amount is required")
        if not params.get("tx_ref"):
            return _error(400, "tx_ref is required")
        if not (params.get("customer") or {}).get("email"):
            return _error(400, "customer.email is required")
        if not params.get("redirect_url") or amount <= 0:
            return _error(400, "Invalid payment request")
        with self.lock:
            self.transactions[params["tx_ref"]] = {
                "id": next(_ids),
                "tx_ref": params["tx_ref"],
                "flw_ref": f"FLW-MOCK-{secrets.token_hex(6)}",
                "amount": amount,
                "charged_amount": amount,
                "currency": params.get("currency", "NGN"),
                "status": "pending",
                "processor_response": "Pending",
                "customer": params["customer"],
                "meta": params.get("meta"),
                "redirect_url": params["redirect_url"],
                "created_at": now_iso(),
                "refunded": Decimal(0),
            }
        link = f"{self.base_url}/v3/hosted/pay/flwlnk-{secrets.token_hex(10)}"
        return Reply(200, {"status": "success", "message": "Hosted Link", "data": {"link": link}})

    def transaction_data(self, t: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": t["id"],
            "tx_ref": t["tx_ref"],
            "flw_ref": t["flw_ref"],
            "device_fingerprint": "N/A",
            "amount": t["amount"],
            "currency": t["currency"],
            "charged_amount": t["charged_amount"],
            "app_fee": Decimal("1.4"),
            "merchant_fee": 0,
            "processor_response": t["processor_response"],
            "auth_model": "PIN",
            "ip": "197.210.64.96",
            "narration": "CARD Transaction ",
            "status": t["status"],
            "payment_type": "card",
            "created_at": t["created_at"],
            "account_id": 17321,
            "customer": {
                "id": 215604089,
                "name": "Test Customer",
                "phone_number": None,
                "email": t["customer"]["email"],
                "created_at": t["created_at"],
            },
            "card": {
                "first_6digits": "553188",
                "last_4digits": "2950",
                "issuer": "MASTERCARD",
                "country": "NG",
                "type": "MASTERCARD",
                "expiry": "09/32",
            },
        }

    def _verified(self, t: dict[str, Any] | None) -> Reply:
        if t is None:
            return _error(400, "No transaction was found for this id")
        data = self.transaction_data(t) | {"meta": t["meta"], "amount_settled": t["amount"]}
        return Reply(
            200, {"status": "success", "message": "Transaction fetched successfully", "data": data}
        )

    def _refund(self, transaction_id: str, request: RecordedRequest) -> Reply:
        try:
            params = json.loads(request.body or b"{}", parse_float=Decimal)
            amount = Decimal(str(params["amount"]))
        except (ValueError, KeyError, InvalidOperation):
            return _error(400, "amount is required")
        with self.lock:
            t = self._by_id(transaction_id)
            if t is None:
                return _error(400, "No transaction was found for this id")
            if t["status"] != "successful":
                return _error(400, "Transaction is not refundable")
            if amount <= 0 or amount > t["amount"] - t["refunded"]:
                return _error(400, "Refund amount exceeds the refundable amount")
            t["refunded"] += amount
            refund = {
                "id": next(_ids),
                "account_id": 73362,
                "tx_id": t["id"],
                "flw_ref": f"URF_{secrets.token_hex(6)}",
                "wallet_id": 74639,
                "amount_refunded": amount,
                "status": "completed",
                "destination": "payment_source",
                "meta": {"source": "availablebalance"},
                "created_at": now_iso(),
            }
            self.refunds[refund["id"]] = refund
        return Reply(
            200, {"status": "success", "message": "Transaction refund initiated", "data": refund}
        )

    def _list_refunds(self, request: RecordedRequest) -> Reply:
        """``GET /v3/refunds?from&to&page``: the account's refunds by date, newest first."""
        page = int((request.query.get("page") or ["1"])[-1])
        since = (request.query.get("from") or [""])[-1]
        with self.lock:
            found = sorted(
                (dict(r) for r in self.refunds.values() if r["created_at"][:10] >= since),
                key=lambda r: r["id"],
                reverse=True,
            )
        size = self.chargeback_page_size
        meta = {"page_info": {"total": len(found), "current_page": page,
                              "total_pages": max(1, -(-len(found) // size))}}  # fmt: skip
        data = found[(page - 1) * size : page * size]
        return Reply(
            200, {"status": "success", "message": "Refunds fetched", "meta": meta, "data": data}
        )

    def _list_chargebacks(self, request: RecordedRequest) -> Reply:
        def arg(name: str) -> str:
            return (request.query.get(name) or [""])[-1]

        try:
            page = int(arg("page") or 1)
            since = datetime.fromisoformat(arg("from")).date() if arg("from") else None
            until = datetime.fromisoformat(arg("to")).date() if arg("to") else None
        except ValueError:
            return _error(400, "Invalid query parameters")
        with self.lock:
            found = [
                dict(c)
                for c in sorted(self.chargebacks.values(), key=lambda c: c["id"], reverse=True)
                if (not arg("status") or c["status"] == arg("status"))
                and (not arg("flw_ref") or c["flw_ref"] == arg("flw_ref"))
                and (since is None or c["created"].date() >= since)
                and (until is None or c["created"].date() <= until)
            ]
        size = self.chargeback_page_size
        total_pages = max(1, -(-len(found) // size))
        data = [
            {k: v for k, v in c.items() if k != "created"}
            for c in found[(page - 1) * size : page * size]
        ]
        meta = {
            "page_info": {
                "total": len(found),
                "current_page": page,
                "total_pages": total_pages,
                "page_size": size,
            }
        }
        return Reply(
            200, {"status": "success", "message": "Chargebacks fetched", "meta": meta, "data": data}
        )

    # --- test helpers ---------------------------------------------------------------------

    def pay(self, tx_ref: str, *, amount: Decimal | None = None) -> SignedWebhook:
        return self._complete(tx_ref, "successful", "Approved by Financial Institution", amount)

    def decline(self, tx_ref: str, *, message: str = "Insufficient funds") -> SignedWebhook:
        return self._complete(tx_ref, "failed", message, None)

    def _complete(
        self, tx_ref: str, status: str, processor_response: str, amount: Decimal | None
    ) -> SignedWebhook:
        with self.lock:
            t = self.transactions[tx_ref]
            t.update(status=status, processor_response=processor_response)
            if amount is not None:
                t.update(amount=amount, charged_amount=amount)
            data = self.transaction_data(t)
        return self.emit("charge.completed", {"event": "charge.completed", "data": data})

    def open_chargeback(
        self,
        tx_ref: str,
        *,
        amount: Decimal | None = None,
        comment: str = "Product/service not received",
        created_days_ago: int = 0,
    ) -> int:
        """A chargeback against a paid transaction, status ``initiated``; returns its id."""
        created = datetime.now(UTC) - timedelta(days=created_days_ago)
        with self.lock:
            t = self.transactions[tx_ref]
            chargeback_id = next(_ids)
            self.chargebacks[chargeback_id] = {
                "id": chargeback_id,
                "amount": t["amount"] if amount is None else amount,
                "flw_ref": t["flw_ref"],
                "status": "initiated",
                "stage": "new",
                "comment": comment,
                "meta": {
                    "uploaded_proof": None,
                    "history": [
                        {
                            "initiator": "dispute",
                            "date": _iso(created),
                            "description": "Dispute transaction",
                        }
                    ],
                },
                "due_date": _iso(created + timedelta(days=2)),
                "settlement_id": "N/A",
                "created_at": _iso(created),
                "transaction_id": t["id"],
                "tx_ref": t["tx_ref"],
                "created": created,
            }
        return chargeback_id

    def set_chargeback_status(self, chargeback_id: int, status: str) -> None:
        """Move a chargeback to ``status`` (initiated, declined, accepted, won, lost)."""
        with self.lock:
            chargeback = self.chargebacks[chargeback_id]
            chargeback["status"] = status
            chargeback["meta"]["history"].append(
                {"action": status, "stage": chargeback["stage"], "date": now_iso()}
            )

    def resolve_chargeback(self, chargeback_id: int, *, won: bool) -> None:
        self.set_chargeback_status(chargeback_id, "won" if won else "lost")


def _iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%S.000Z")
