from decimal import Decimal

import pytest

from payments.providers import CreatePaymentRequest


@pytest.fixture
def payment_request():
    def build(
        reference: str = "ORD-1001-a1",
        amount: str = "123.45",
        currency: str = "NGN",
    ) -> CreatePaymentRequest:
        return CreatePaymentRequest(
            reference=reference,
            amount=Decimal(amount),
            currency=currency,
            email="ada@example.com",
            callback_url="http://shop.test/checkout/return/",
            metadata={"order_number": "ORD-1001"},
            description="Order ORD-1001",
        )

    return build
