"""A gateway without its secret key refuses to start and names the setting to fill in."""

import pytest

from payments.providers.flutterwave import FlutterwaveProvider
from payments.providers.paystack import PaystackProvider
from payments.providers.stripe_provider import StripeProvider


@pytest.mark.parametrize(
    ("build", "setting"),
    [
        (lambda: PaystackProvider(secret_key=""), "PAYSTACK_SECRET_KEY"),
        (lambda: StripeProvider(secret_key="", webhook_secret="whsec_x"), "STRIPE_SECRET_KEY"),
        (
            lambda: FlutterwaveProvider(secret_key="", webhook_hash="hash"),
            "FLUTTERWAVE_SECRET_KEY",
        ),
    ],
    ids=["paystack", "stripe", "flutterwave"],
)
def test_a_gateway_without_a_secret_key_names_the_missing_setting(build, setting):
    with pytest.raises(ValueError, match=setting):
        build()
