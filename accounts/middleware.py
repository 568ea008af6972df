"""Admin pages need the second factor of staff who owe one (``accounts.two_factor``)."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.urls import reverse

from accounts import two_factor
from accounts.admin_views import redirect_with_next, session_is_verified
from shop.models import User


class StaffSecondFactorMiddleware:
    """After the password, an admin session that owes a second factor reaches only the
    two-factor pages (and sign-out): the code page if the account has an authenticator, the
    enrolment page if the policy requires one it has not set up. Goes after django-otp's
    ``OTPMiddleware``, which tells whether the session passed a device."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self._detour(request) or self.get_response(request)

    def _detour(self, request: HttpRequest) -> HttpResponse | None:
        admin_root = reverse("admin:index")
        path = request.path
        if not path.startswith(admin_root) or path in _open_paths():
            return None
        if path.startswith(reverse("staff-two-factor")):
            return None
        user = request.user
        if not (isinstance(user, User) and user.is_active and user.is_staff):
            return None  # not signed in: the admin's own login check applies
        if session_is_verified(request) or not two_factor.second_factor_needed(user):
            return None
        page = "staff-two-factor-verify"
        if not two_factor.has_second_factor(user):
            page = "staff-two-factor-setup"
        return redirect_with_next(page, request.get_full_path())


def _open_paths() -> tuple[str, ...]:
    return (reverse("admin:login"), reverse("admin:logout"))
