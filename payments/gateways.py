"""This deployment's payment gateways: providers built from Django settings and platform settings.

``payments.providers`` works with the values it is given; this module is where they are read
(keys, URLs and timeouts from settings, the bank account from the staff-editable platform
setting ``bank_transfer.account``). Everything in payments that talks to a gateway asks here:

    provider = get_provider("paystack")      # or get_provider() for DEFAULT_PAYMENT_GATEWAY
"""

import hashlib
import hmac

from django.conf import settings
from django.core.cache import cache

from payments import providers
from payments.providers import GatewaySettings, PaymentProvider
from payments.providers.http import HttpConfig
from shop.platform_settings import get_setting


def http_config() -> HttpConfig:
    return HttpConfig(
        connect_timeout=float(settings.PAYMENT_HTTP_CONNECT_TIMEOUT),
        read_timeout=float(settings.PAYMENT_HTTP_READ_TIMEOUT),
        max_retries=int(settings.PAYMENT_HTTP_MAX_RETRIES),
    )


def _bank_account() -> dict[str, str]:
    account: dict[str, str] = get_setting("bank_transfer.account")
    return account


def _dummy_secret() -> str:
    configured: str = settings.DUMMY_PAYMENT_SECRET
    return (
        configured
        or hmac.new(
            settings.SECRET_KEY.encode(), b"payments.dummy.webhook", hashlib.sha256
        ).hexdigest()
    )


def gateway_settings(name: str) -> GatewaySettings:
    """The values gateway ``name`` is built from, read now (settings may change in tests)."""
    return GatewaySettings(
        http=http_config(),
        paystack_secret_key=settings.PAYSTACK_SECRET_KEY,
        paystack_base_url=settings.PAYSTACK_BASE_URL,
        stripe_secret_key=settings.STRIPE_SECRET_KEY,
        stripe_webhook_secret=settings.STRIPE_WEBHOOK_SECRET,
        stripe_api_base=settings.STRIPE_API_BASE,
        stripe_api_version=settings.STRIPE_API_VERSION,
        flutterwave_secret_key=settings.FLUTTERWAVE_SECRET_KEY,
        flutterwave_webhook_hash=settings.FLUTTERWAVE_WEBHOOK_HASH,
        flutterwave_base_url=settings.FLUTTERWAVE_BASE_URL,
        bank_transfer_account=_bank_account,
        dummy_enabled=bool(settings.DEBUG),
        dummy_payment_secret=_dummy_secret() if name == "dummy" else "",
        site_url=settings.SITE_URL,
        dummy_store=cache,
    )


def provider_available(name: str) -> bool:
    """Whether ``name`` is a gateway of this deployment (the dummy only with DEBUG on).

    A True answer does not promise its keys are set: ``get_provider`` still raises
    ``PaymentMethodNotConfigured`` for that.
    """
    return providers.provider_available(name, dummy_enabled=bool(settings.DEBUG))


def get_provider(name: str | None = None) -> PaymentProvider:
    """The provider for a payment method name (default: settings.DEFAULT_PAYMENT_GATEWAY)."""
    name = name or settings.DEFAULT_PAYMENT_GATEWAY
    return providers.build_provider(name, gateway_settings(name))
