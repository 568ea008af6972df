"""Failed sign-ins (admin and API) are logged: keyed email hash and address, never a password."""

import logging

from django.contrib.auth import get_user_model
from django.contrib.auth.signals import user_login_failed
from django.dispatch import receiver
from django.utils.crypto import salted_hmac

from observability import metrics
from observability.client_ip import client_ip

logger = logging.getLogger("security.login")


def email_fingerprint(email: str) -> str:
    """A keyed hash of the address: lines about one account match, the address is not shown."""
    return salted_hmac("observability.login-failed", email.strip().lower()).hexdigest()[:16]


@receiver(user_login_failed, dispatch_uid="observability.log_login_failure")
def log_login_failure(sender, credentials: dict, request=None, **kwargs) -> None:
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
