"""Payment providers: one interface for every payment method, picked by name.

    provider = get_provider("paystack")      # or get_provider() for DEFAULT_PAYMENT_GATEWAY
    session = provider.create_payment(CreatePaymentRequest(...))

Providers are plain Python over ``requests``; they never import models. The factory is the one
place that reads Django settings. Each call builds a fresh provider (and HTTP session), so
``override_settings`` in tests and per-thread use need no care.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
from collections.abc import Callable

from django.conf import settings

from payments.providers.base import (
    CreatePaymentRequest,
    DisputeInfo,
    GatewayEvent,
    PaymentProvider,
    PaymentSession,
    RefundInfo,
    RefundResult,
    VerifyResult,
)
from payments.providers.errors import PaymentMethodNotConfigured, UnknownPaymentProvider
from payments.providers.http import HttpConfig

__all__ = [
    "PROVIDER_NAMES",
    "CreatePaymentRequest",
    "DisputeInfo",
    "GatewayEvent",
    "PaymentProvider",
    "PaymentSession",
    "RefundInfo",
    "RefundResult",
    "VerifyResult",
    "get_provider",
    "provider_available",
]

logger = logging.getLogger(__name__)

PROVIDER_NAMES = ("paystack", "stripe", "flutterwave", "bank_transfer", "cod", "dummy")


def http_config() -> HttpConfig:
    return HttpConfig(
        connect_timeout=float(settings.PAYMENT_HTTP_CONNECT_TIMEOUT),
        read_timeout=float(settings.PAYMENT_HTTP_READ_TIMEOUT),
        max_retries=int(settings.PAYMENT_HTTP_MAX_RETRIES),
    )


def _require(name: str, *setting_names: str) -> None:
    missing = [s for s in setting_names if not getattr(settings, s, "")]
    if missing:
        logger.error("Payment method %s is missing settings: %s", name, ", ".join(missing))
        raise PaymentMethodNotConfigured(details={"method": name})


def _paystack() -> PaymentProvider:
    from payments.providers.paystack import PaystackProvider

    _require("paystack", "PAYSTACK_SECRET_KEY")
    return PaystackProvider(
        secret_key=settings.PAYSTACK_SECRET_KEY,
        base_url=settings.PAYSTACK_BASE_URL,
        http=http_config(),
    )


def _stripe() -> PaymentProvider:
    from payments.providers.stripe_provider import StripeProvider

    _require("stripe", "STRIPE_SECRET_KEY", "STRIPE_WEBHOOK_SECRET")
    return StripeProvider(
        secret_key=settings.STRIPE_SECRET_KEY,
        webhook_secret=settings.STRIPE_WEBHOOK_SECRET,
        api_base=settings.STRIPE_API_BASE,
        api_version=settings.STRIPE_API_VERSION,
        http=http_config(),
    )


def _flutterwave() -> PaymentProvider:
    from payments.providers.flutterwave import FlutterwaveProvider

    _require("flutterwave", "FLUTTERWAVE_SECRET_KEY", "FLUTTERWAVE_WEBHOOK_HASH")
    return FlutterwaveProvider(
        secret_key=settings.FLUTTERWAVE_SECRET_KEY,
        webhook_hash=settings.FLUTTERWAVE_WEBHOOK_HASH,
        base_url=settings.FLUTTERWAVE_BASE_URL,
        http=http_config(),
    )


def _bank_transfer() -> PaymentProvider:
    from payments.providers.bank_transfer import BankTransferProvider
    from shop.platform_settings import get_setting

    return BankTransferProvider(account=lambda: get_setting("bank_transfer.account"))


def _cash_on_delivery() -> PaymentProvider:
    from payments.providers.cash_on_delivery import CashOnDeliveryProvider

    return CashOnDeliveryProvider()


def _dummy() -> PaymentProvider:
    if not settings.DEBUG:
        # Checked here and again in the constructor: a dummy that "pays" must never run live.
        # Without DEBUG it does not exist, so callers (webhook, pay, verify, reconciliation)
        # get the same typed refusal as for any unknown method, never a 500.
        raise UnknownPaymentProvider(details={"method": "dummy"})
    from django.core.cache import cache

    from payments.providers.dummy import DummyProvider

    secret = (
        settings.DUMMY_PAYMENT_SECRET
        or hmac.new(
            settings.SECRET_KEY.encode(), b"payments.dummy.webhook", hashlib.sha256
        ).hexdigest()
    )
    return DummyProvider(secret=secret, site_url=settings.SITE_URL, store=cache, enabled=True)


_FACTORIES: dict[str, Callable[[], PaymentProvider]] = {
    "paystack": _paystack,
    "stripe": _stripe,
    "flutterwave": _flutterwave,
    "bank_transfer": _bank_transfer,
    "cod": _cash_on_delivery,
    "dummy": _dummy,
}


def provider_available(name: str) -> bool:
    """Whether ``name`` is a gateway of this deployment (the dummy only with DEBUG on).

    A True answer does not promise its keys are set: ``get_provider`` still raises
    ``PaymentMethodNotConfigured`` for that.
    """
    return name in _FACTORIES and (name != "dummy" or settings.DEBUG)


def get_provider(name: str | None = None) -> PaymentProvider:
    """The provider for a payment method name (default: settings.DEFAULT_PAYMENT_GATEWAY)."""
    name = name or settings.DEFAULT_PAYMENT_GATEWAY
    try:
        factory = _FACTORIES[name]
    except KeyError:
        raise UnknownPaymentProvider(details={"method": name}) from None
    return factory()
