"""Session authentication for the API that honours staff two-factor sign-in."""

from rest_framework import authentication
from rest_framework.request import Request

from accounts.two_factor import second_factor_needed
from shop.models import User


class SessionAuthentication(authentication.SessionAuthentication):
    """DRF's session authentication (staff signed into the admin, CSRF-checked), except that a
    session still owing its second factor is not signed in for the API either: the password
    alone must not reach the staff API through the admin's cookie."""

    def authenticate(self, request: Request) -> tuple[User, None] | None:
        result = super().authenticate(request)
        if result is None:
            return None
        user = result[0]
        is_verified = getattr(user, "is_verified", None)  # set by django-otp's middleware
        if second_factor_needed(user) and not (is_verified is not None and is_verified()):
            return None
        return result
