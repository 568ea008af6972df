"""System checks: a malformed rate or metrics setting stops the start, not the first request.

The check ids keep the ``observability.`` prefix they had before security became its own app,
so a deployment that silences one (``SILENCED_SYSTEM_CHECKS``) still does.
"""

import ipaddress
from collections.abc import Sequence
from typing import Any

from django.apps import AppConfig
from django.conf import settings
from django.core.checks import CheckMessage, Error, Warning, register
from django.core.exceptions import ImproperlyConfigured

from security.ratelimit import parse_rate

RATE_SETTINGS = (
    "THROTTLE_WEBHOOK_RATE",
    "THROTTLE_CHECKOUT_RATE",
    "THROTTLE_STAFF_RATE",
    "THROTTLE_LOGIN_RATE",
    "AUTH_THROTTLE_RATE",
)


@register()
def check_rates(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    errors: list[CheckMessage] = []
    for name in RATE_SETTINGS:
        try:
            parse_rate(getattr(settings, name, ""))
        except ImproperlyConfigured as exc:
            errors.append(Error(f"{name}: {exc}", id="observability.E001"))
    return errors


@register(deploy=True)
def check_metrics_token(
    app_configs: Sequence[AppConfig] | None, **kwargs: Any
) -> list[CheckMessage]:
    token = settings.METRICS_TOKEN
    if token and len(token) < 24:
        return [
            Warning(
                "METRICS_TOKEN is short; use 32+ random characters.",
                id="observability.W001",
            )
        ]
    return []


@register()
def check_allow_lists(app_configs: Sequence[AppConfig] | None, **kwargs: Any) -> list[CheckMessage]:
    lists = {"METRICS_ALLOWED_IPS": settings.METRICS_ALLOWED_IPS}
    for gateway, networks in settings.WEBHOOK_ALLOWED_IPS.items():
        lists[f"WEBHOOK_ALLOWED_IPS_{gateway.upper()}"] = networks
    errors: list[CheckMessage] = []
    for name, networks in lists.items():
        for network in networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                errors.append(
                    Error(
                        f"{name}: {network!r} is not an address or network", id="observability.E002"
                    )
                )
    return errors
