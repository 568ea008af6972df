"""The admin's sign-in page is limited like the API's token endpoint.

Every POST to the admin login is a password (or second-factor) attempt: it is counted before
the login view sees it, in the same Redis counters as ``POST /api/auth/token/`` —
``AUTH_THROTTLE_RATE`` per client address (scope ``auth``) and ``THROTTLE_LOGIN_RATE`` per
address + submitted username (scope ``login``) — so the two doors share one budget per
account. Counting every POST rather than only failures means the limit is decided before a
password is checked, so it also fails closed (503) when Redis is down.

The page is found by URL name (``ADMIN_LOGIN_URL_NAMES``, default ``admin:login``), not by path
or view function, so the limit holds whichever login view renders the page.
"""

from collections.abc import Callable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse

from security.throttles import ClientAddressThrottle, LoginThrottle, refusal

# Where login forms put the account name: Django's admin, a form wizard's first step
# (e.g. django-two-factor-auth's "auth-username"), or an e-mail field.
USERNAME_FIELDS = ("username", "auth-username", "email")


class AdminLoginAddressThrottle(ClientAddressThrottle):
    """AUTH_THROTTLE_RATE per client address, shared with sign-up and the token endpoint."""

    scope = "auth"
    rate_setting = "AUTH_THROTTLE_RATE"


class AdminLoginThrottle(LoginThrottle):
    """THROTTLE_LOGIN_RATE per client address + username, shared with the token endpoint."""

    def submitted_identifier(self, request: HttpRequest) -> str:
        for name in USERNAME_FIELDS:
            value = request.POST.get(name)
            if value:
                return value
        return ""


class AdminLoginThrottleMiddleware:
    """Refuses a POST to the admin login over its limits: 429 page (or JSON) + Retry-After."""

    throttles = (AdminLoginAddressThrottle, AdminLoginThrottle)

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(
        self,
        request: HttpRequest,
        view_func: Callable[..., HttpResponse],
        view_args: tuple[Any, ...],
        view_kwargs: dict[str, Any],
    ) -> HttpResponse | None:
        if request.method != "POST":
            return None
        match = request.resolver_match
        if match is None or match.view_name not in settings.ADMIN_LOGIN_URL_NAMES:
            return None
        return refusal(request, self.throttles, html=True)
