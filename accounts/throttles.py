"""Abuse limits of the account endpoints, on the shared Redis limiter (observability)."""

from typing import Any

from django.utils.crypto import salted_hmac
from rest_framework.request import Request

from security.throttles import SharedRateThrottle


class AccountEmailThrottle(SharedRateThrottle):
    """Emails with a link (password reset, verification): THROTTLE_ACCOUNT_EMAIL_RATE per
    address, keyed by an HMAC (Redis holds no address). Counted whether or not the address
    has an account, so a refusal says nothing about it either. Fails closed: mail bombing
    is what it prevents."""

    scope = "account_email"
    rate_setting = "THROTTLE_ACCOUNT_EMAIL_RATE"
    fail_open = False

    def throttle_key(self, request: Request, view: object) -> str | None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            email = user.email
        else:
            data: Any = getattr(request, "data", None)  # the parsed body: any JSON value
            email = data.get("email") if hasattr(data, "get") else None
        if not isinstance(email, str) or not email.strip():
            return None  # validation refuses it
        digest = salted_hmac("accounts.account-email-throttle", email.strip().lower())
        return f"email:{digest.hexdigest()[:32]}"


class PasswordAttemptThrottle(SharedRateThrottle):
    """Checks of the current password by a signed-in account (password change, erasure):
    THROTTLE_LOGIN_RATE per account, so a stolen token cannot guess the password. Fails
    closed, like sign-in."""

    scope = "password_attempt"
    rate_setting = "THROTTLE_LOGIN_RATE"
    fail_open = False

    def throttle_key(self, request: Request, view: object) -> str | None:
        user = getattr(request, "user", None)
        return f"user:{user.pk}" if user is not None and user.is_authenticated else None
