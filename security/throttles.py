"""DRF throttles on the shared Redis limiter, one per abuse limit, each with its fail mode.

Over the limit a view answers 429 ``throttled`` with ``Retry-After`` (DRF's Throttled,
rendered by ``core.api``). When Redis cannot be reached:

- fail OPEN (request allowed, warning logged): webhooks — a dropped payment notification costs
  more than a flood; the signature check still guards them — and checkout, paying, verifying
  and staff actions, which need a signed-in account anyway;
- fail CLOSED (503 ``rate_limit_unavailable``): login/token, sign-up and the admin login,
  because an unlimited password-guessing window is the thing these limits exist to prevent.

Rates are settings read per request (``THROTTLE_*_RATE``: ``"5/min"``; empty = no limit).
Outside DRF: decorate a plain Django view with ``@throttle_view(WebhookThrottle)`` (same 429 /
503 answers), or in an admin action call ``StaffThrottle().allow_request(request, None)`` and
refuse when it is False; ``wait()`` then gives the seconds to wait.
"""

import functools
import logging
from collections.abc import Callable, Iterable
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.crypto import salted_hmac
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from core.api import error_body
from core.errors import DomainError
from security import metrics
from security.client_ip import client_ip
from security.ratelimit import LimiterUnavailable, RateLimiter, default_limiter, parse_rate

logger = logging.getLogger(__name__)


class RateLimitUnavailable(DomainError):
    code = "rate_limit_unavailable"
    http_status = 503
    message = "This action is briefly unavailable; please try again in a minute."


class SharedRateThrottle(BaseThrottle):
    """Base: subclasses name a scope, the setting holding the rate, the key and a fail mode."""

    scope: str = ""
    rate_setting: str = ""
    fail_open: bool = True
    limiter: RateLimiter = default_limiter

    def __init__(self) -> None:
        self._wait: float | None = None

    def throttle_key(self, request: Request, view: object) -> str | None:
        """Who is counted; None leaves the request unlimited."""
        raise NotImplementedError

    def allow_request(self, request: Request, view: object) -> bool:
        rate = parse_rate(getattr(settings, self.rate_setting, ""))
        if rate is None:
            return True
        key = self.throttle_key(request, view)
        if key is None:
            return True
        try:
            decision = self.limiter.hit(scope=self.scope, ident=key, rate=rate)
        except LimiterUnavailable:
            if self.fail_open:
                logger.warning("rate limiter unavailable: allowing", extra={"scope": self.scope})
                metrics.RATE_LIMIT_DECISIONS.labels(self.scope, "unavailable_allowed").inc()
                return True
            logger.error("rate limiter unavailable: refusing", extra={"scope": self.scope})
            metrics.RATE_LIMIT_DECISIONS.labels(self.scope, "unavailable_refused").inc()
            raise RateLimitUnavailable() from None
        if decision.allowed:
            metrics.RATE_LIMIT_DECISIONS.labels(self.scope, "allowed").inc()
            return True
        self._wait = decision.retry_after
        metrics.RATE_LIMIT_DECISIONS.labels(self.scope, "throttled").inc()
        logger.info("request throttled", extra={"scope": self.scope, "limit": decision.limit})
        return False

    def wait(self) -> float | None:
        return self._wait


def _user_id(request: Request) -> int | None:
    user = getattr(request, "user", None)
    return user.pk if user is not None and user.is_authenticated else None


class WebhookThrottle(SharedRateThrottle):
    """Gateway callbacks: THROTTLE_WEBHOOK_RATE (100/min) per client address; fails open."""

    scope = "webhook"
    rate_setting = "THROTTLE_WEBHOOK_RATE"
    fail_open = True

    def throttle_key(self, request: Request, view: object) -> str | None:
        return f"ip:{client_ip(request)}"


class PerUserThrottle(SharedRateThrottle):
    """Base: counted per signed-in user (per address for an anonymous caller)."""

    def throttle_key(self, request: Request, view: object) -> str | None:
        user_id = _user_id(request)
        return f"user:{user_id}" if user_id is not None else f"ip:{client_ip(request)}"


class CheckoutThrottle(PerUserThrottle):
    """Checkout: THROTTLE_CHECKOUT_RATE (10/min) per customer; fails open."""

    scope = "checkout"
    rate_setting = "THROTTLE_CHECKOUT_RATE"
    fail_open = True


class PaymentStartThrottle(PerUserThrottle):
    """``POST /api/orders/{id}/pay/``: THROTTLE_PAYMENT_RATE (10/min) per customer; fails open.

    Each call opens a gateway session, so a loop would flood the gateway in our name.
    """

    scope = "pay"
    rate_setting = "THROTTLE_PAYMENT_RATE"
    fail_open = True


class PaymentVerifyThrottle(PerUserThrottle):
    """``GET /api/payments/verify/{reference}/``: THROTTLE_PAYMENT_RATE per customer, counted
    apart from paying (a return page may poll it); each call asks the gateway. Fails open."""

    scope = "verify"
    rate_setting = "THROTTLE_PAYMENT_RATE"
    fail_open = True


class StaffThrottle(PerUserThrottle):
    """Staff API and admin order actions: THROTTLE_STAFF_RATE (30/min) per staff user."""

    scope = "staff"
    rate_setting = "THROTTLE_STAFF_RATE"
    fail_open = True


class LoginThrottle(SharedRateThrottle):
    """Password attempts: THROTTLE_LOGIN_RATE (5/min) per client address + email; fails closed.

    The email is keyed by an HMAC, so Redis holds no personal data.
    """

    scope = "login"
    rate_setting = "THROTTLE_LOGIN_RATE"
    fail_open = False

    def submitted_identifier(self, request: Request) -> str:
        data = getattr(request, "data", None)
        email = data.get("email") if hasattr(data, "get") else None
        return email if isinstance(email, str) else ""

    def throttle_key(self, request: Request, view: object) -> str | None:
        email = self.submitted_identifier(request).strip().lower()
        # The salt predates the move to security: changing it would reset every login budget.
        email_key = salted_hmac("observability.login-throttle", email).hexdigest()[:32]
        return f"ip:{client_ip(request)}:email:{email_key}"


class ClientAddressThrottle(SharedRateThrottle):
    """Base for per-address limits of public entry points that fail closed (sign-up, token)."""

    fail_open = False

    def throttle_key(self, request: Request, view: object) -> str | None:
        return f"ip:{client_ip(request)}"


def refusal(
    request: HttpRequest,
    throttle_classes: Iterable[type[SharedRateThrottle]],
    *,
    html: bool = False,
) -> HttpResponse | None:
    """The 429 (or fail-closed 503) answer of the first throttle refusing ``request``, or None.

    JSON error body by default; with ``html`` a small page for browsers (the admin), unless the
    client asks for JSON. Both carry ``Retry-After`` on a 429.
    """
    for throttle_class in throttle_classes:
        throttle = throttle_class()
        try:
            allowed = throttle.allow_request(request, None)
        except RateLimitUnavailable as exc:
            return _answer(request, exc.http_status, exc.code, exc.message, {}, html=html)
        if not allowed:
            wait = int(throttle.wait() or 1)
            message = f"Request was throttled. Expected available in {wait} seconds."
            response = _answer(
                request, 429, "throttled", message, {"retry_after_seconds": wait}, html=html
            )
            response["Retry-After"] = str(wait)
            return response
    return None


def _answer(
    request: HttpRequest,
    status: int,
    code: str,
    message: str,
    details: dict[str, Any],
    *,
    html: bool,
) -> HttpResponse:
    wants_json = "application/json" in request.headers.get("Accept", "")
    if html and not wants_json:
        return render(
            request,
            "security/refused.html",
            {"code": code, "message": message, "retry_after": details.get("retry_after_seconds")},
            status=status,
        )
    return JsonResponse(error_body(code, message, details), status=status)


def throttle_view(*throttle_classes: type[SharedRateThrottle]) -> Callable:
    """The throttles for a plain Django view (e.g. a ``csrf_exempt`` webhook endpoint)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            return refusal(request, throttle_classes) or view(request, *args, **kwargs)

        return wrapped

    return decorator
