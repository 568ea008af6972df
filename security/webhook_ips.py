"""Optional allow-list of the addresses each gateway sends webhooks from (defence in depth).

Off unless ``WEBHOOK_IP_ALLOWLIST_ENABLED``. The signature check stays the real gate; this
only drops traffic that cannot be the gateway's. A gateway whose list is empty is not
restricted (Flutterwave publishes none: its addresses change). Behind a reverse proxy set
``NUM_PROXIES``, otherwise every request seems to come from the proxy and is refused.

Apply ``WebhookSourceAllowed`` (DRF permission; the view sets ``webhook_gateway = "paystack"``
or receives a ``gateway`` URL kwarg) or ``@require_webhook_source("paystack")`` on a plain
Django view.
"""

import functools
import logging
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from rest_framework.permissions import BasePermission
from rest_framework.request import Request
from rest_framework.views import APIView

from core.api import error_body
from core.errors import DomainError
from security.client_ip import address_in, client_ip

logger = logging.getLogger(__name__)


class WebhookSourceNotAllowed(DomainError):
    code = "webhook_source_not_allowed"
    http_status = 403
    message = "Webhooks are not accepted from this address."


def webhook_source_allowed(request: HttpRequest, gateway: str) -> bool:
    if not settings.WEBHOOK_IP_ALLOWLIST_ENABLED:
        return True
    allowed = settings.WEBHOOK_ALLOWED_IPS.get(gateway, [])
    if not allowed:
        return True
    address = client_ip(request)
    if address_in(address, allowed):
        return True
    logger.warning(
        "webhook refused: source address not allowed",
        extra={"gateway": gateway, "client_ip": address},
    )
    return False


class WebhookSourceAllowed(BasePermission):
    def has_permission(self, request: Request, view: APIView) -> bool:
        gateway = getattr(view, "webhook_gateway", None) or view.kwargs.get("gateway", "")
        if not webhook_source_allowed(request, gateway):
            raise WebhookSourceNotAllowed()
        return True


def require_webhook_source(
    gateway: str,
) -> Callable[[Callable[..., HttpResponse]], Callable[..., HttpResponse]]:
    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            if not webhook_source_allowed(request, gateway):
                error = WebhookSourceNotAllowed()
                return JsonResponse(error_body(error.code, error.message), status=403)
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
