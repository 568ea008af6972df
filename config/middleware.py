"""Health probes answered before Django looks at the Host header.

Container, orchestrator and load-balancer probes call the process by address
(``127.0.0.1:8000``), not by the site's name, so with a production ``ALLOWED_HOSTS`` Django
would answer them 400 and the instance would be taken out of service. Only ``/healthz`` and
``/readyz`` skip the check; their views read nothing from the request.
"""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import resolve

PROBE_PATHS = frozenset({"/healthz", "/readyz"})


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
