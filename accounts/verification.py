"""Email verification: a signed, expiring link sent through the notifications outbox.

The token signs a keyed hash of the address with a timestamp (Django's ``TimestampSigner``),
so it stops working after ``EMAIL_VERIFICATION_TIMEOUT`` or once the account's address
changes, and it carries no address in clear. Following it twice is harmless.
"""

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from accounts.errors import EmailAlreadyVerified, InvalidLink
from accounts.links import send_link, user_id_from_uid
from shop.models import User

_SALT = "accounts.email-verification"


def _address_hash(email: str) -> str:
    return salted_hmac(_SALT, email.strip().lower()).hexdigest()[:32]


def make_token(user: User) -> str:
    return signing.TimestampSigner(salt=_SALT).sign_object({"e": _address_hash(user.email)})


def send_verification_email(user: User) -> None:
    """Queue the verification email, in the caller's transaction (e.g. the sign-up's)."""
    if user.email_verified_at is not None:
        raise EmailAlreadyVerified()
    send_link(
        event="email_verification",
        link_key="verify_url",
        user=user,
        base_url=settings.EMAIL_VERIFICATION_URL,
        token=make_token(user),
        lifetime=settings.EMAIL_VERIFICATION_TIMEOUT,
    )


@transaction.atomic
def resend_verification_email(user: User) -> None:
    send_verification_email(User.objects.select_for_update().get(pk=user.pk))


@transaction.atomic
def confirm_email(*, uid: str, token: str) -> User:
    """Mark the account's address verified; an invalid or expired link is ``invalid_link``."""
    user_id = user_id_from_uid(uid)
    if user_id is None:
        raise InvalidLink()
    user = User.objects.select_for_update().filter(pk=user_id, is_active=True).first()
    if user is None:
        raise InvalidLink()
    max_age = settings.EMAIL_VERIFICATION_TIMEOUT.total_seconds()
    try:
        payload = signing.TimestampSigner(salt=_SALT).unsign_object(token, max_age=max_age)
    except signing.BadSignature:  # SignatureExpired included
        raise InvalidLink() from None
    if not isinstance(payload, dict) or payload.get("e") != _address_hash(user.email):
        raise InvalidLink()
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        user.save(update_fields=["email_verified_at"])
    return user
