"""DRF throttles on the shared Redis limiter, one per abuse limit, each with its fail mode.

Over the limit a view answers 429 ``throttled`` with ``Retry-After`` (DRF's Throttled,
rendered by ``config.api``). When Redis cannot be reached:

- fail OPEN (request allowed, warning logged): webhooks — a dropped payment notification costs
  more than a flood; the signature check still guards them — and checkout and staff actions,
  which need a signed-in account anyway;
- fail CLOSED (503 ``rate_limit_unavailable``): login/token and sign-up, because an unlimited
  password-guessing window is the thing these limits exist to prevent.

Rates are settings read per request (``THROTTLE_*_RATE``: ``"5/min"``; empty = no limit).
Outside DRF: decorate a plain Django view with ``@throttle_view(WebhookThrottle)`` (same 429 /
503 answers), or in an admin action call ``StaffThrottle().allow_request(request, None)`` and
refuse when it is False; ``wait()`` then gives the seconds to wait.
"""

import functools
import logging
from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.crypto import salted_hmac
from rest_framework.request import Request
from rest_framework.throttling import BaseThrottle

from config.api import error_body
from config.errors import DomainError
from observability import metrics
from observability.client_ip import client_ip
from observability.ratelimit import LimiterUnavailable, RateLimiter, default_limiter, parse_rate

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


class CheckoutThrottle(SharedRateThrottle):
    """Checkout: THROTTLE_CHECKOUT_RATE (10/min) per customer; fails open."""

    scope = "checkout"
    rate_setting = "THROTTLE_CHECKOUT_RATE"
    fail_open = True

    def throttle_key(self, request: Request, view: object) -> str | None:
        user_id = _user_id(request)
        return f"user:{user_id}" if user_id is not None else f"ip:{client_ip(request)}"


class StaffThrottle(SharedRateThrottle):
    """Staff API and admin order actions: THROTTLE_STAFF_RATE (30/min) per staff user."""

    scope = "staff"
    rate_setting = "THROTTLE_STAFF_RATE"
    fail_open = True

    def throttle_key(self, request: Request, view: object) -> str | None:
        user_id = _user_id(request)
        return f"user:{user_id}" if user_id is not None else f"ip:{client_ip(request)}"


class LoginThrottle(SharedRateThrottle):
    """Password attempts: THROTTLE_LOGIN_RATE (5/min) per client address + email; fails closed.

    The email is keyed by an HMAC, so Redis holds no personal data.
    """

    scope = "login"
    rate_setting = "THROTTLE_LOGIN_RATE"
    fail_open = False

    def throttle_key(self, request: Request, view: object) -> str | None:
        data = getattr(request, "data", None)
        email = data.get("email") if hasattr(data, "get") else None
        email = email.strip().lower() if isinstance(email, str) else ""
        email_key = salted_hmac("observability.login-throttle", email).hexdigest()[:32]
        return f"ip:{client_ip(request)}:email:{email_key}"


class ClientAddressThrottle(SharedRateThrottle):
    """Base for per-address limits of public entry points that fail closed (sign-up, token)."""

    fail_open = False

    def throttle_key(self, request: Request, view: object) -> str | None:
        return f"ip:{client_ip(request)}"


def throttle_view(*throttle_classes: type[SharedRateThrottle]) -> Callable:
    """The throttles for a plain Django view (e.g. a ``csrf_exempt`` webhook endpoint)."""

    def decorator(view: Callable[..., HttpResponse]) -> Callable[..., HttpResponse]:
        @functools.wraps(view)
        def wrapped(request: HttpRequest, *args, **kwargs) -> HttpResponse:
            for throttle_class in throttle_classes:
                throttle = throttle_class()
                try:
                    allowed = throttle.allow_request(request, None)
                except RateLimitUnavailable as exc:
                    return JsonResponse(error_body(exc.code, exc.message), status=exc.http_status)
                if not allowed:
                    wait = int(throttle.wait() or 1)
                    response = JsonResponse(
                        error_body(
                            "throttled",
                            f"Request was throttled. Expected available in {wait} seconds.",
                            {"retry_after_seconds": wait},
                        ),
                        status=429,
                    )
                    response["Retry-After"] = str(wait)
                    return response
            return view(request, *args, **kwargs)

        return wrapped

    return decorator
