"""Shared behaviour of the methods settled outside any gateway (bank transfer, cash on delivery)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from decimal import Decimal

from payments.providers.base import GatewayEvent, GatewayRefund, RefundResult, VerifyResult
from payments.providers.errors import InvalidSignature


class OfflineProvider:
    """No remote calls: staff confirm receipt, refunds are paid back by hand."""

    name = "offline"
    has_hosted_page = False

    def verify(
        self, reference: str, *, gateway_ids: Mapping[str, str] | None = None
    ) -> VerifyResult:
        # Only a staff member can see the money arrive; until then the payment is pending.
        return VerifyResult(
            reference=reference,
            status="pending",
            amount=None,
            currency=None,
            paid_at=None,
            gateway_ids={},
            gateway_status="awaiting_staff_confirmation",
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
        return RefundResult(
            reference=reference,
            status="manual",
            amount=amount,
            currency=currency.upper() if currency else None,
            gateway_refund_id=None,
            gateway_status="manual",
        )

    def list_refunds(
        self,
        reference: str,
        *,
        gateway_ids: Mapping[str, str] | None = None,
        since: datetime | None = None,
    ) -> list[GatewayRefund]:
        return []  # refunds are paid by hand and recorded at once

    def expire_session(self, reference: str, *, gateway_ids: Mapping[str, str]) -> bool:
        return False

    def parse_webhook(self, headers: Mapping[str, str], raw_body: bytes) -> list[GatewayEvent]:
        raise InvalidSignature(f"{self.name} receives no webhooks.", details={"gateway": self.name})
