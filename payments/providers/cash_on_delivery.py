"""Cash on delivery: nothing to pay now; the courier collects the amount."""

from __future__ import annotations

from payments.providers.base import CreatePaymentRequest, PaymentSession
from payments.providers.money import quantize_major
from payments.providers.offline import OfflineProvider


class CashOnDeliveryProvider(OfflineProvider):
    name = "cod"

    def create_payment(self, request: CreatePaymentRequest) -> PaymentSession:
        return PaymentSession(
            reference=request.reference,
            redirect_url=None,
            instructions={
                "method": self.name,
                "amount": str(quantize_major(request.amount, request.currency)),
                "currency": request.currency.upper(),
                "pay_on_delivery": True,
            },
            gateway_ids={},
        )
