"""API permissions of customer endpoints."""

from django.conf import settings
from rest_framework.permissions import BasePermission
from rest_framework.request import Request

from shop.errors import EmailNotVerified


class VerifiedEmailWhenRequired(BasePermission):
    """With ``ACCOUNTS_REQUIRE_VERIFIED_EMAIL`` on, only verified customers may buy (403
    ``email_not_verified``). Reads a field of the user already loaded: no query."""

    def has_permission(self, request: Request, view: object) -> bool:
        user = request.user
        required = settings.ACCOUNTS_REQUIRE_VERIFIED_EMAIL and user.is_authenticated
        if required and user.email_verified_at is None:
            raise EmailNotVerified()
        return True
