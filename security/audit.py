"""The audit log's writers: staff sign-ins, and sensitive reads (staff opening an order in the
admin or through the staff API).

Reads are recorded in one middleware keyed by URL name, so the views stay free of it and a new
sensitive page is one line in ``SENSITIVE_READS``. Only successful GETs by an authenticated
user are recorded (a refused request showed nothing). DRF views authenticate inside the view
and set the user on the underlying request, so token-authenticated API reads are seen too.
"""

import logging
from collections.abc import Callable

from django.contrib.auth import get_user_model
from django.contrib.auth.base_user import AbstractBaseUser
from django.http import HttpRequest, HttpResponse

from security.client_ip import client_ip
from security.models import AuditEvent

logger = logging.getLogger(__name__)

# URL name -> (object type, URL kwarg holding the object's id)
SENSITIVE_READS: dict[str, tuple[str, str]] = {
    "admin:orders_order_change": ("orders.order", "object_id"),
    "staff-order-detail": ("orders.order", "order_id"),
}


def record_read(*, request: HttpRequest, object_type: str, object_id: str) -> AuditEvent:
    return AuditEvent.objects.create(
        actor=request.user,
        action="view",
        object_type=object_type,
        object_id=object_id[:64],
        path=request.path[:300],
        ip=client_ip(request) or None,
    )


# Staff sign-in outcomes. In the admin, ``sign_in`` is the password step and
# ``second_factor_passed`` the code; an API token sign-in is one ``sign_in`` (code included).
SIGN_IN_ACTIONS = ("sign_in", "sign_in_failed", "second_factor_passed", "second_factor_failed")


def record_sign_in(
    *, user: AbstractBaseUser, action: str, request: HttpRequest | None
) -> AuditEvent | None:
    """Record a staff account's sign-in outcome; customers' sign-ins are not audited."""
    if action not in SIGN_IN_ACTIONS:
        raise ValueError(f"unknown sign-in action {action!r}")
    if not isinstance(user, get_user_model()) or not (user.is_staff or user.is_superuser):
        return None
    return AuditEvent.objects.create(
        actor=user,
        action=action,
        object_type="auth.user",
        object_id=str(user.pk),
        path=request.path[:300] if request is not None else "",
        ip=(client_ip(request) or None) if request is not None else None,
    )


class SensitiveReadAuditMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        match = request.resolver_match
        if (
            request.method == "GET"
            and response.status_code == 200
            and match is not None
            and match.view_name in SENSITIVE_READS
            and getattr(request, "user", None) is not None
            and request.user.is_authenticated
        ):
            object_type, kwarg = SENSITIVE_READS[match.view_name]
            record_read(
                request=request, object_type=object_type, object_id=str(match.kwargs[kwarg])
            )
        return response
