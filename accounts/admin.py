"""Staff screens for sign-in credentials: API tokens and two-factor devices, to look and revoke.

knox and django-otp register admins of their own that can mint a token for any user (knox)
or show a device's secret key and recovery codes (django-otp). Those are replaced here by
lists that show who signed in and when, and allow only deletion: revoking a token, or
forgetting a lost phone so its owner enrols again. Their modules are imported first so that
their registrations can be undone (admin autodiscovery then finds them already imported).
"""

from importlib import import_module
from typing import Any

from django.contrib import admin
from django.http import HttpRequest
from django_otp.plugins.otp_static.models import StaticDevice
from django_otp.plugins.otp_totp.models import TOTPDevice
from knox.models import AuthToken

from core.admin_lists import RefuseNulInFiltersMixin

LIBRARY_ADMINS = (
    "knox.admin",
    "django_otp.plugins.otp_totp.admin",
    "django_otp.plugins.otp_static.admin",
)
for module in LIBRARY_ADMINS:
    import_module(module)  # registers the library's admin, undone just below
for model in (AuthToken, TOTPDevice, StaticDevice):
    admin.site.unregister(model)


class RevokeOnlyAdmin(RefuseNulInFiltersMixin, admin.ModelAdmin[Any]):  # knox, otp: untyped
    list_select_related = ["user"]
    search_fields = ["user__email"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(AuthToken)
class ApiTokenAdmin(RevokeOnlyAdmin):
    """One row per signed-in device; deleting a row signs that device out. Only the token's
    first characters are stored in clear (``token_key``); the rest is a SHA-512 digest."""

    list_display = ["user", "token_key", "created", "expiry"]
    list_filter = ["created", "expiry"]
    # A tuple, which also types as readonly_fields (a list of one would not, for mypy).
    fields = ("user", "token_key", "created", "expiry")
    readonly_fields = fields
    ordering = ["-created"]


@admin.register(TOTPDevice)
class AuthenticatorAdmin(RevokeOnlyAdmin):
    """Staff authenticator apps. Delete a lost phone's row: its owner sets up a new one at
    the next admin sign-in."""

    list_display = ["user", "name", "confirmed", "created_at", "last_used_at"]
    list_filter = ["confirmed", "created_at"]
    fields = ("user", "name", "confirmed", "created_at", "last_used_at")
    readonly_fields = fields


@admin.register(StaticDevice)
class RecoveryCodesAdmin(RevokeOnlyAdmin):
    """Staff recovery-code sets (the codes are not shown)."""

    list_display = ["user", "name", "codes_left", "created_at", "last_used_at"]
    list_filter = ["created_at"]
    fields = ("user", "name", "codes_left", "created_at", "last_used_at")
    readonly_fields = fields

    @admin.display(description="codes left")
    def codes_left(self, device: StaticDevice) -> int:
        codes_left: int = device.token_set.count()
        return codes_left
