"""API permissions of customer endpoints."""

from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from shop.errors import EmailNotVerified
from shop.models import User


def signed_in_user(request: HttpRequest | Request) -> User:
    """The account of a request that a check already let in as signed in (DRF's default
    ``IsAuthenticated``, the admin's staff check): never the anonymous user there."""
    user = request.user
    if not isinstance(user, User):
        raise PermissionDenied
    return user


class VerifiedEmailWhenRequired(BasePermission):
    """With ``ACCOUNTS_REQUIRE_VERIFIED_EMAIL`` on, only verified customers may buy (403
    ``email_not_verified``). Reads a field of the user already loaded: no query."""

    def has_permission(self, request: Request, view: object) -> bool:
        user = request.user
        if (
            settings.ACCOUNTS_REQUIRE_VERIFIED_EMAIL
            and isinstance(user, User)  # signed in: the anonymous user is no User
            and user.email_verified_at is None
        ):
            raise EmailNotVerified()
        return True
