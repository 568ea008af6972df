"""Outermost middleware: the request id, and request count/latency metrics."""

import time
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from observability import metrics
from observability.request_id import (
    REQUEST_ID_HEADER,
    clean_request_id,
    new_request_id,
    reset_request_id,
    set_request_id,
)

_KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED_ROUTE = "<unmatched>"
STATIC_ROUTE = "<static>"  # files WhiteNoise served before URL resolution


class RequestIdMiddleware:
    """Uses the client's ``X-Request-ID`` when it is safe, else a new one; echoes it back."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request_id = clean_request_id(request.headers.get(REQUEST_ID_HEADER)) or new_request_id()
        request.request_id = request_id
        token = set_request_id(request_id)
        try:
            response = self.get_response(request)
        finally:
            reset_request_id(token)  # threads are reused: never leak an id into the next request
        response[REQUEST_ID_HEADER] = request_id
        return response


def route_of(request: HttpRequest) -> str:
    """The URL pattern that matched (``api/products/<int:pk>/``), never the raw path."""
    match = getattr(request, "resolver_match", None)
    if match is None or not match.route:
        return STATIC_ROUTE if request.path.startswith(settings.STATIC_URL) else UNMATCHED_ROUTE
    return match.route


class RequestMetricsMiddleware:
    """Counts and times every request by route pattern, method and status."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        elapsed = time.perf_counter() - started
        method = request.method if request.method in _KNOWN_METHODS else "other"
        labels = (route_of(request), method, str(response.status_code))
        metrics.HTTP_REQUESTS.labels(*labels).inc()
        metrics.HTTP_REQUEST_DURATION.labels(*labels).observe(elapsed)
        return response
