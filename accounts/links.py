"""The links the accounts app emails: ``<base>?uid=<uid>&token=<token>``, and reading them back."""

import secrets
from datetime import timedelta
from urllib.parse import urlencode

from django.utils.encoding import force_bytes, force_str
from django.utils.http import urlsafe_base64_decode, urlsafe_base64_encode

from notifications.services import enqueue
from shop.models import User


def send_link(
    *, event: str, link_key: str, user: User, base_url: str, token: str, lifetime: timedelta
) -> None:
    """Queue ``event``'s email with the account's link, in the caller's transaction. Every
    call is a message of its own (each carries a new link)."""
    enqueue(
        event=event,
        email=user.email,
        phone=None,
        context={
            "customer_name": user.get_full_name() or user.email,
            link_key: emailed_link(base_url, user, token),
            "valid_for": describe(lifetime),
        },
        dedup_key=f"{event}:{user.pk}:{secrets.token_hex(8)}",
        sms_allowed=False,
        fetch_rows=False,
    )


def emailed_link(base_url: str, user: User, token: str) -> str:
    query = urlencode({"uid": uid_for(user), "token": token})
    return f"{base_url}{'&' if '?' in base_url else '?'}{query}"


def uid_for(user: User) -> str:
    return urlsafe_base64_encode(force_bytes(user.pk))


def user_id_from_uid(uid: str) -> int | None:
    """The account id a link's ``uid`` names, or None when it names none."""
    try:
        value = int(force_str(urlsafe_base64_decode(uid)))
    except (TypeError, ValueError, OverflowError, UnicodeDecodeError):
        return None
    return value if 0 < value < 2**63 else None


def describe(lifetime: timedelta) -> str:
    """A lifetime as an email says it: "1 hour", "7 days", "90 minutes"."""
    seconds = int(lifetime.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{seconds} seconds"
