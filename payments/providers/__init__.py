"""Payment providers: one interface for every payment method, built by name from plain values.

    provider = build_provider("paystack", GatewaySettings(paystack_secret_key="sk_…"))
    session = provider.create_payment(CreatePaymentRequest(...))

Providers are plain Python over ``requests``: they import no app, no model and no Django
settings, so each can be tested against its fake server alone. ``payments.gateways`` reads the
deployment's settings into a ``GatewaySettings`` and calls ``build_provider``; the rest of the
shop asks it (``payments.gateways.get_provider(name)``). Each call builds a fresh provider (and
HTTP session), so changed settings and per-thread use need no care.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

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
from payments.providers.dummy import StateStore
from payments.providers.errors import PaymentMethodNotConfigured, UnknownPaymentProvider
from payments.providers.http import HttpConfig

__all__ = [
    "PROVIDER_NAMES",
    "CreatePaymentRequest",
    "DisputeInfo",
    "GatewayEvent",
    "GatewaySettings",
    "PaymentProvider",
    "PaymentSession",
    "RefundInfo",
    "RefundResult",
    "VerifyResult",
    "build_provider",
    "provider_available",
]

logger = logging.getLogger(__name__)

PROVIDER_NAMES = ("paystack", "stripe", "flutterwave", "bank_transfer", "cod", "dummy")


@dataclass(frozen=True)
class GatewaySettings:
    """What the providers are built from. A field holds the value of the Django setting of the
    same name in capitals (``paystack_secret_key`` ← ``PAYSTACK_SECRET_KEY``), except the bank
    account (what the ``bank_transfer.account`` platform setting holds), the dummy's state store
    and whether the dummy may exist."""

    http: HttpConfig = field(default_factory=HttpConfig)
    paystack_secret_key: str = ""
    paystack_base_url: str = "https://api.paystack.co"
    stripe_secret_key: str = ""
    stripe_webhook_secret: str = ""
    stripe_api_base: str = "https://api.stripe.com"
    stripe_api_version: str = ""
    flutterwave_secret_key: str = ""
    flutterwave_webhook_hash: str = ""
    flutterwave_base_url: str = "https://api.flutterwave.com"
    # Called when a transfer's instructions are shown (staff may change it at any time).
    bank_transfer_account: Callable[[], Mapping[str, str]] = dict
    dummy_enabled: bool = False  # only with DEBUG on: a dummy that "pays" must never run live
    dummy_payment_secret: str = ""
    site_url: str = ""
    dummy_store: StateStore | None = None


# The values a gateway cannot work without; missing, it is "not configured" (503), not a 500.
_REQUIRED = {
    "paystack": ("paystack_secret_key",),
    "stripe": ("stripe_secret_key", "stripe_webhook_secret"),
    "flutterwave": ("flutterwave_secret_key", "flutterwave_webhook_hash"),
}


def _paystack(config: GatewaySettings) -> PaymentProvider:
    from payments.providers.paystack import PaystackProvider

    return PaystackProvider(
        secret_key=config.paystack_secret_key,
        base_url=config.paystack_base_url,
        http=config.http,
    )


def _stripe(config: GatewaySettings) -> PaymentProvider:
    from payments.providers.stripe_provider import StripeProvider

    return StripeProvider(
        secret_key=config.stripe_secret_key,
        webhook_secret=config.stripe_webhook_secret,
        api_base=config.stripe_api_base,
        api_version=config.stripe_api_version,
        http=config.http,
    )


def _flutterwave(config: GatewaySettings) -> PaymentProvider:
    from payments.providers.flutterwave import FlutterwaveProvider

    return FlutterwaveProvider(
        secret_key=config.flutterwave_secret_key,
        webhook_hash=config.flutterwave_webhook_hash,
        base_url=config.flutterwave_base_url,
        http=config.http,
    )


def _bank_transfer(config: GatewaySettings) -> PaymentProvider:
    from payments.providers.bank_transfer import BankTransferProvider

    return BankTransferProvider(account=config.bank_transfer_account)


def _cash_on_delivery(config: GatewaySettings) -> PaymentProvider:
    from payments.providers.cash_on_delivery import CashOnDeliveryProvider

    return CashOnDeliveryProvider()


def _dummy(config: GatewaySettings) -> PaymentProvider:
    from payments.providers.dummy import DummyProvider

    if config.dummy_store is None:
        raise PaymentMethodNotConfigured(details={"method": "dummy"})
    return DummyProvider(
        secret=config.dummy_payment_secret,
        site_url=config.site_url,
        store=config.dummy_store,
        enabled=config.dummy_enabled,
    )


_FACTORIES: dict[str, Callable[[GatewaySettings], PaymentProvider]] = {
    "paystack": _paystack,
    "stripe": _stripe,
    "flutterwave": _flutterwave,
    "bank_transfer": _bank_transfer,
    "cod": _cash_on_delivery,
    "dummy": _dummy,
}


def provider_available(name: str, *, dummy_enabled: bool) -> bool:
    """Whether ``name`` is a gateway that can exist here (the dummy only when enabled).

    A True answer does not promise its keys are set: ``build_provider`` still raises
    ``PaymentMethodNotConfigured`` for that.
    """
    return name in _FACTORIES and (name != "dummy" or dummy_enabled)


def build_provider(name: str, config: GatewaySettings) -> PaymentProvider:
    """The provider for a payment method name, built from ``config``.

    An unknown name (and the dummy when not enabled: it does not exist then, so callers get
    the same typed refusal as for any unknown method, never a 500) raises
    ``UnknownPaymentProvider``; a gateway whose keys are missing raises
    ``PaymentMethodNotConfigured``.
    """
    if not provider_available(name, dummy_enabled=config.dummy_enabled):
        raise UnknownPaymentProvider(details={"method": name})
    missing = [value.upper() for value in _REQUIRED.get(name, ()) if not getattr(config, value)]
    if missing:
        logger.error("Payment method %s is missing settings: %s", name, ", ".join(missing))
        raise PaymentMethodNotConfigured(details={"method": name})
    return _FACTORIES[name](config)
