"""Sign-ins (admin and API): failures are logged (keyed email hash and address, never a
password); staff accounts' successes and failures are also written to the audit log."""

import logging
from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest
from django.utils.crypto import salted_hmac

from security import metrics
from security.audit import record_sign_in
from security.client_ip import client_ip

logger = logging.getLogger("security.login")


def email_fingerprint(email: str) -> str:
    """A keyed hash of the address: lines about one account match, the address is not shown.

    The salt predates the move to security, so old and new log lines about one account match.
    """
    return salted_hmac("observability.login-failed", email.strip().lower()).hexdigest()[:16]


@receiver(user_login_failed, dispatch_uid="security.log_login_failure")
def log_login_failure(
    sender: object,
    credentials: dict[str, Any],
    request: HttpRequest | None = None,
    **kwargs: Any,
) -> None:
    username_field = get_user_model().USERNAME_FIELD
    identifier = credentials.get(username_field) or credentials.get("username") or ""
    metrics.LOGIN_FAILURES.inc()
    logger.warning(
        "login failed",
        extra={
            "email_hash": email_fingerprint(str(identifier)) if identifier else None,
            "client_ip": client_ip(request) if request is not None else None,
            "path": request.path if request is not None else None,
        },
    )


@receiver(user_login_failed, dispatch_uid="security.audit_staff_sign_in_failure")
def audit_staff_sign_in_failure(
    sender: object,
    credentials: dict[str, Any],
    request: HttpRequest | None = None,
    **kwargs: Any,
) -> None:
    username_field = get_user_model().USERNAME_FIELD
    identifier = str(credentials.get(username_field) or credentials.get("username") or "")
    if not identifier.strip() or "\x00" in identifier:
        return
    staff = (
        get_user_model()
        .objects.filter(**{f"{username_field}__iexact": identifier.strip(), "is_staff": True})
        .first()
    )
    if staff is not None:
        record_sign_in(user=staff, action="sign_in_failed", request=request)


@receiver(user_logged_in, dispatch_uid="security.audit_staff_sign_in")
def audit_staff_sign_in(
    sender: object,
    request: HttpRequest | None = None,
    user: AbstractBaseUser | None = None,
    **kwargs: Any,
) -> None:
    if user is not None:
        record_sign_in(user=user, action="sign_in", request=request)
