"""Manual bank transfer: the customer pays into the shop's account quoting the reference."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from payments.providers.base import CreatePaymentRequest, PaymentSession
from payments.providers.money import quantize_major
from payments.providers.offline import OfflineProvider


class BankTransferProvider(OfflineProvider):
    name = "bank_transfer"

    def __init__(self, *, account: Callable[[], Mapping[str, str]]) -> None:
        # A callable: the account is a staff-editable PlatformSetting, read when it is needed.
        self._account = account

    def create_payment(self, request: CreatePaymentRequest) -> PaymentSession:
        account = dict(self._account())
        instructions = {
            "method": self.name,
            "amount": str(quantize_major(request.amount, request.currency)),
            "currency": request.currency.upper(),
            "bank_name": account["bank_name"],
            "account_name": account["account_name"],
            "account_number": account["account_number"],
            "narration": request.reference,  # how staff match the transfer to the order
        }
        return PaymentSession(
            reference=request.reference,
            redirect_url=None,
            instructions=instructions,
            gateway_ids={},
        )
