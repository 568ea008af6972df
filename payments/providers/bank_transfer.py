"""Manual bank transfer: the customer pays into the shop's account quoting the reference."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from payments.providers.base import CreatePaymentRequest, PaymentSession
from payments.providers.errors import PaymentMethodNotConfigured
from payments.providers.money import quantize_major
from payments.providers.offline import OfflineProvider

ACCOUNT_FIELDS = ("bank_name", "account_name", "account_number")


class BankTransferProvider(OfflineProvider):
    name = "bank_transfer"

    def __init__(self, *, account: Callable[[], Mapping[str, str]]) -> None:
        """``account`` returns the shop's ``bank_name``, ``account_name`` and ``account_number``.

        A callable: staff may change the account at any time, and only ``create_payment`` shows
        it, so it is read then (checking or refunding a transfer reads nothing).
        """
        self._account = account

    def create_payment(self, request: CreatePaymentRequest) -> PaymentSession:
        account = dict(self._account())
        if not all(account.get(key) for key in ACCOUNT_FIELDS):
            raise PaymentMethodNotConfigured(details={"method": self.name})
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
