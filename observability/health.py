"""Health probes: ``/healthz`` (the process serves) and ``/readyz`` (its database and Redis
answer), and the middleware that answers them before Django looks at the Host header.

Container, orchestrator and load-balancer probes call the process by address
(``127.0.0.1:8000``), not by the site's name, so with a production ``ALLOWED_HOSTS`` Django
would answer them 400 and the instance would be taken out of service. Only ``/healthz`` and
``/readyz`` skip the check; their views read nothing from the request.
"""

import logging
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import resolve
from django.views.decorators.http import require_GET

logger = logging.getLogger(__name__)

PROBE_PATHS = frozenset({"/healthz", "/readyz"})


@require_GET
def healthz(request: HttpRequest) -> JsonResponse:
    """The process is alive and serving; checks nothing else, so it never flaps."""
    return JsonResponse({"status": "ok"})


@require_GET
def readyz(request: HttpRequest) -> JsonResponse:
    """Ready for traffic: the database answers and, when configured, Redis does too."""
    checks: dict[str, str] = {}
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        checks["database"] = "ok"
    except Exception:  # any driver error means "not ready"; the reason is logged
        logger.exception("readyz: database check failed")
        checks["database"] = "unavailable"
    if settings.REDIS_URL:
        try:
            cache.set("readyz", "1", timeout=5)
            checks["redis"] = "ok" if cache.get("readyz") == "1" else "unavailable"
        except Exception:  # redis-py raises several unrelated types; all mean "not ready"
            logger.exception("readyz: redis check failed")
            checks["redis"] = "unavailable"
    ready = all(value == "ok" for value in checks.values())
    return JsonResponse(
        {"status": "ok" if ready else "unavailable", "checks": checks}, status=200 if ready else 503
    )


class HealthProbeMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path_info not in PROBE_PATHS:
            return self.get_response(request)
        match = resolve(request.path_info)
        request.resolver_match = match  # counted under its route, like any request
        response: HttpResponse = match.func(request)
        return response
