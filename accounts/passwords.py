"""Changing and resetting passwords. Every successful change revokes the account's tokens.

Reset links use Django's ``default_token_generator``: the token is an HMAC over the account's
password hash and last sign-in with a timestamp, so it stops working once used (the hash
changes), after any password change or sign-in, and after ``PASSWORD_RESET_TIMEOUT``.
"""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from knox.models import AuthToken

from accounts import tokens
from accounts.errors import InvalidLink, PasswordIncorrect
from accounts.links import send_link, user_id_from_uid
from shop.models import User


def _validated(new_password: str, user: User, field: str = "new_password") -> str:
    try:
        validate_password(new_password, user=user)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from exc
    return new_password


@transaction.atomic
def change_password(
    *, user: User, current_password: str, new_password: str, keep_token: AuthToken | None
) -> User:
    """Set a new password (Django's validators) and revoke every token but ``keep_token``."""
    user = User.objects.select_for_update().get(pk=user.pk)
    if not user.check_password(current_password):
        raise PasswordIncorrect(details={"field": "current_password"})
    user.set_password(_validated(new_password, user))
    user.save(update_fields=["password"])
    tokens.revoke_all(user, keep=keep_token)
    return user


def _resettable_account(email: str) -> User | None:
    user = User.objects.filter(email__iexact=email.strip(), is_active=True).first()
    if user is None or not user.has_usable_password():
        return None
    return user


def request_password_reset(*, email: str) -> None:
    """Email a reset link if an active account has this address; say nothing either way.

    The caller answers the same whatever happened here, so the answer cannot tell whether an
    address has an account.
    """
    user = _resettable_account(email)
    if user is None:
        return
    with transaction.atomic():
        send_link(
            event="password_reset",
            link_key="reset_url",
            user=user,
            base_url=settings.PASSWORD_RESET_URL,
            token=default_token_generator.make_token(user),
            lifetime=timedelta(seconds=settings.PASSWORD_RESET_TIMEOUT),
        )


@transaction.atomic
def confirm_password_reset(*, uid: str, token: str, new_password: str) -> User:
    """Set the password the link was sent for; every token of the account is revoked.

    The account row is locked before the link is checked, so two uses of one link at once
    cannot both pass: the second sees the new password hash, which the token no longer fits.
    Following the link also proves the mailbox, so the address counts as verified.
    """
    user_id = user_id_from_uid(uid)
    if user_id is None:
        raise InvalidLink()
    user = User.objects.select_for_update().filter(pk=user_id).first()
    if user is None or not user.is_active or not default_token_generator.check_token(user, token):
        raise InvalidLink()
    user.set_password(_validated(new_password, user))
    fields = ["password"]
    if user.email_verified_at is None:
        user.email_verified_at = timezone.now()
        fields.append("email_verified_at")
    user.save(update_fields=fields)
    tokens.revoke_all(user)
    return user
