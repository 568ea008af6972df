"""Who may read ``/metrics``: never the world.

Access needs ``Authorization: Bearer $METRICS_TOKEN`` or a client address inside
``METRICS_ALLOWED_IPS``. With neither configured the endpoint answers 404, as if absent.
A request that fails the check gets 401 when a token is configured (so a scraper knows to
authenticate) and 404 otherwise. ``config.urls`` puts the exposition view behind
``require_metrics_access``.
"""

import functools
import hmac
from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse

from core.api import error_body
from security.client_ip import address_in, client_ip


def _bearer_token(request: HttpRequest) -> str:
    scheme, _, credentials = request.headers.get("Authorization", "").partition(" ")
    return credentials.strip() if scheme.lower() == "bearer" else ""


def metrics_access_allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    if token and hmac.compare_digest(_bearer_token(request).encode(), token.encode()):
        return True
    allowed = settings.METRICS_ALLOWED_IPS
    return bool(allowed) and address_in(client_ip(request), allowed)


def metrics_refusal() -> HttpResponse:
    if settings.METRICS_TOKEN:
        response = JsonResponse(
            error_body("not_authenticated", "A valid metrics bearer token is required."),
            status=401,
        )
        response["WWW-Authenticate"] = 'Bearer realm="metrics"'
        return response
    return JsonResponse(error_body("not_found", "Not found."), status=404)


def require_metrics_access(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        if not metrics_access_allowed(request):
            return metrics_refusal()
        return view(request, *args, **kwargs)

    return wrapped
