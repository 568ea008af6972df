"""API tokens (django-rest-knox): one per sign-in, stored hashed, expiring; and revoking them.

Customers' tokens live ``AUTH_TOKEN_TTL`` (30 days), staff tokens ``STAFF_TOKEN_TTL`` (12 h):
a staff token can refund money, so a leaked one must die soon. Expiry is fixed at sign-in
(no sliding renewal): a token in use still ends, and the device signs in again.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.auth import authenticate, user_logged_in
from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from knox.models import AuthToken

from accounts import two_factor
from accounts.errors import SecondFactorInvalid, SecondFactorRequired, SecondFactorSetupRequired
from security.audit import record_sign_in
from shop.errors import InvalidCredentials
from shop.models import User


@dataclass(frozen=True)
class IssuedToken:
    token: str  # shown once, to the client; the database keeps only its digest
    expiry: datetime
    user: User


def token_lifetime(user: User) -> timedelta:
    return settings.STAFF_TOKEN_TTL if user.is_staff else settings.AUTH_TOKEN_TTL


def issue_token(user: User) -> IssuedToken:
    row, token = AuthToken.objects.create(user=user, expiry=token_lifetime(user))
    return IssuedToken(token=token, expiry=row.expiry, user=user)


def sign_in(*, email: str, password: str, otp: str, request: HttpRequest) -> IssuedToken:
    """A new token for this device, if the password (and, where needed, the code) is right.

    ``request`` goes to Django's ``authenticate`` and the sign-in signals, which log failures
    and audit staff sign-ins with the client's address.
    """
    user = authenticate(request, username=email.strip(), password=password)
    if user is None:
        raise InvalidCredentials()
    if two_factor.second_factor_needed(user):
        if not two_factor.has_second_factor(user):
            raise SecondFactorSetupRequired()
        if not otp.strip():
            raise SecondFactorRequired()
        if two_factor.verify_code(user, otp) is None:
            record_sign_in(user=user, action="second_factor_failed", request=request)
            raise SecondFactorInvalid()
    issued = issue_token(user)
    # last_login, and the audit of staff sign-ins (security.auth_signals)
    user_logged_in.send(sender=User, request=request, user=user)
    return issued


def revoke(token: AuthToken) -> None:
    AuthToken.objects.filter(digest=token.digest).delete()


def revoke_all(user: User, *, keep: AuthToken | None = None) -> int:
    """Revoke every token of the account (but ``keep``, the one a request came with)."""
    tokens = AuthToken.objects.filter(user_id=user.pk)
    if keep is not None:
        tokens = tokens.exclude(digest=keep.digest)
    with transaction.atomic():
        deleted: int = tokens.delete()[0]
    return deleted


def purge_expired(*, now: datetime | None = None, batch_size: int = 5000) -> int:
    """Delete tokens past their expiry (they already fail authentication), in batches."""
    now = now or timezone.now()
    total = 0
    while True:
        batch = list(
            AuthToken.objects.filter(expiry__lte=now).values_list("digest", flat=True)[:batch_size]
        )
        if not batch:
            return total
        deleted, _ = AuthToken.objects.filter(digest__in=batch, expiry__lte=now).delete()
        total += deleted
