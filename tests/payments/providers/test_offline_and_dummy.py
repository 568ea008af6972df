from decimal import Decimal

import pytest
from django.core.exceptions import ImproperlyConfigured

from payments.gateways import get_provider
from payments.providers import PROVIDER_NAMES, PaymentProvider
from payments.providers.dummy import DummyProvider
from payments.providers.errors import (
    GatewayRequestRejected,
    InvalidSignature,
    PaymentMethodNotConfigured,
    PaymentNotFound,
    UnknownPaymentProvider,
)
from shop.platform_settings import set_setting

ACCOUNT = {"bank_name": "Zenith", "account_name": "Demo Shop Ltd", "account_number": "1012345678"}


@pytest.mark.django_db
def test_bank_transfer_gives_the_current_account_as_instructions(payment_request):
    set_setting("bank_transfer.account", ACCOUNT)
    session = get_provider("bank_transfer").create_payment(payment_request())
    assert session.redirect_url is None
    assert session.instructions == {
        "method": "bank_transfer",
        "amount": "123.45",
        "currency": "NGN",
        **ACCOUNT,
        "narration": "ORD-1001-a1",
    }


@pytest.mark.parametrize("name", ["bank_transfer", "cod"])
def test_offline_methods_stay_pending_and_refund_by_hand(name):
    provider = get_provider(name)
    verified = provider.verify("ORD-1")
    assert (verified.status, verified.amount) == ("pending", None)
    refund = provider.refund("ORD-1", Decimal("10.00"), "returned", currency="ngn")
    assert (refund.status, refund.amount, refund.currency, refund.gateway_refund_id) == (
        "manual",
        Decimal("10.00"),
        "NGN",
        None,
    )
    with pytest.raises(InvalidSignature):
        provider.parse_webhook({}, b"{}")


def test_cash_on_delivery_has_nothing_to_pay_now(payment_request):
    session = get_provider("cod").create_payment(payment_request(amount="5000"))
    assert (session.redirect_url, session.instructions) == (
        None,
        {"method": "cod", "amount": "5000.00", "currency": "NGN", "pay_on_delivery": True},
    )


def test_dummy_is_refused_when_debug_is_off(settings):
    settings.DEBUG = False
    with pytest.raises(UnknownPaymentProvider):
        get_provider("dummy")


def test_dummy_cannot_be_built_disabled_even_directly():
    with pytest.raises(ImproperlyConfigured):
        DummyProvider(secret="s", site_url="http://x", store={}, enabled=False)


def test_dummy_pays_through_a_signed_webhook(settings, payment_request):
    settings.DEBUG = True
    settings.SITE_URL = "http://127.0.0.1:8000"
    dummy = get_provider("dummy")
    session = dummy.create_payment(payment_request(reference="DUMMY-ORD-1"))
    assert session.redirect_url == "http://127.0.0.1:8000/payments/dummy/DUMMY-ORD-1/"
    assert dummy.verify("DUMMY-ORD-1").status == "pending"

    webhook = dummy.complete("DUMMY-ORD-1", "succeeded")
    [event] = get_provider("dummy").parse_webhook(webhook.headers, webhook.body)
    assert (event.kind, event.reference, event.amount, event.currency) == (
        "charge_succeeded",
        "DUMMY-ORD-1",
        Decimal("123.45"),
        "NGN",
    )
    assert dummy.verify("DUMMY-ORD-1").status == "succeeded"

    assert dummy.refund("DUMMY-ORD-1", Decimal("23.45"), "x", currency="NGN").amount == Decimal(
        "23.45"
    )
    assert dummy.refund("DUMMY-ORD-1", None, "rest").amount == Decimal("100.00")
    with pytest.raises(GatewayRequestRejected):
        dummy.refund("DUMMY-ORD-1", None, "nothing left")


def test_dummy_decline_and_unknown_reference(settings, payment_request):
    settings.DEBUG = True
    dummy = get_provider("dummy")
    dummy.create_payment(payment_request(reference="DUMMY-ORD-2"))
    webhook = dummy.complete("DUMMY-ORD-2", "failed")
    [event] = dummy.parse_webhook(webhook.headers, webhook.body)
    assert (event.kind, dummy.verify("DUMMY-ORD-2").status) == ("charge_failed", "failed")
    with pytest.raises(PaymentNotFound):
        dummy.verify("DUMMY-NOPE")


def test_unknown_method_is_a_clear_error():
    with pytest.raises(UnknownPaymentProvider) as caught:
        get_provider("bitcoin")
    assert (caught.value.code, caught.value.http_status) == ("unknown_payment_method", 400)


def test_the_default_gateway_comes_from_settings(settings, fake_flutterwave):
    settings.DEFAULT_PAYMENT_GATEWAY = "flutterwave"
    assert get_provider().name == "flutterwave"


@pytest.mark.parametrize(
    ("name", "missing"),
    [
        ("paystack", "PAYSTACK_SECRET_KEY"),
        ("stripe", "STRIPE_WEBHOOK_SECRET"),
        ("flutterwave", "FLUTTERWAVE_WEBHOOK_HASH"),
    ],
)
def test_a_gateway_without_its_keys_is_unavailable(settings, name, missing):
    settings.PAYSTACK_SECRET_KEY = "sk_test_x"
    settings.STRIPE_SECRET_KEY = "sk_test_x"
    settings.STRIPE_WEBHOOK_SECRET = "whsec_x"
    settings.FLUTTERWAVE_SECRET_KEY = "FLWSECK_TEST-x"
    settings.FLUTTERWAVE_WEBHOOK_HASH = "hash"
    setattr(settings, missing, "")
    with pytest.raises(PaymentMethodNotConfigured) as caught:
        get_provider(name)
    assert (caught.value.code, caught.value.http_status) == ("payment_method_unavailable", 503)


@pytest.mark.usefixtures("fake_paystack", "fake_stripe", "fake_flutterwave")
@pytest.mark.parametrize("name", PROVIDER_NAMES)
def test_every_method_meets_the_provider_interface(settings, name):
    settings.DEBUG = True
    provider = get_provider(name)
    assert isinstance(provider, PaymentProvider)
    assert provider.name == name
