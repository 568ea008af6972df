"""Every Stripe call pins the API version the provider was written against (Stripe-Version),
so answers never follow the account's default version."""

import pytest
from django.conf import settings

from payments.gateways import get_provider
from payments.providers.errors import GatewayRequestRejected
from payments.providers.stripe_provider import API_VERSION, StripeProvider
from tests.fakes import stripe as fake_stripe_module

REFERENCE = "ORD-1001-a1"


def test_the_default_setting_is_the_version_the_provider_and_fake_speak():
    assert settings.STRIPE_API_VERSION == API_VERSION == fake_stripe_module.API_VERSION


def test_every_call_sends_the_pinned_version(fake_stripe, payment_request):
    stripe_gw = get_provider("stripe")
    session = stripe_gw.create_payment(payment_request(currency="USD"))
    fake_stripe.pay(REFERENCE)
    verified = stripe_gw.verify(REFERENCE, gateway_ids=session.gateway_ids)
    assert verified.status == "succeeded"

    calls = fake_stripe.calls("POST") + fake_stripe.calls("GET", "/v1/")
    assert len(calls) >= 2
    assert {call.headers.get("stripe-version") for call in calls} == {API_VERSION}


def test_the_version_comes_from_the_setting(settings, fake_stripe, payment_request):
    settings.STRIPE_API_VERSION = "2099-01-01"

    with pytest.raises(GatewayRequestRejected):  # the fake speaks only its own version
        get_provider("stripe").create_payment(payment_request(currency="USD"))

    [call] = fake_stripe.calls("POST", "/v1/checkout/sessions")
    assert call.headers["stripe-version"] == "2099-01-01"


def test_a_provider_without_a_version_refuses_to_start():
    with pytest.raises(ValueError, match="STRIPE_API_VERSION"):
        StripeProvider(secret_key="sk_test_x", webhook_secret="whsec_x", api_version="")
