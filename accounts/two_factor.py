"""Staff two-factor sign-in: who needs it, enrolment, codes and recovery codes (django-otp).

A second factor is needed by a staff account that has one set up, and — with
``STAFF_REQUIRE_2FA`` on (the production default) — by every superuser and member of the
groups in ``SECOND_FACTOR_GROUPS`` even before they set one up (they are sent to enrolment).
The admin asks for it after the password (``accounts.admin_views``); the staff API's tokens
are issued only with a code (``accounts.tokens.sign_in``).

Codes are checked against ONE device, chosen by their shape: six digits are the
authenticator app's TOTP code, anything else a recovery code. Trying every device in turn
would count a failure against each device the code was not meant for, and django-otp's
per-device throttling would then lock out the recovery codes of someone who mistyped a TOTP.
"""

from dataclasses import dataclass

from django.conf import settings
from django.db import transaction
from django_otp.models import Device
from django_otp.plugins.otp_static.models import StaticDevice, StaticToken
from django_otp.plugins.otp_totp.models import TOTPDevice

from shop.models import User

SECOND_FACTOR_GROUPS = ("Finance",)  # refunds and payments: the power a stolen password gives
RECOVERY_CODE_COUNT = 10
TOTP_DEVICE_NAME = "Authenticator app"
RECOVERY_DEVICE_NAME = "Recovery codes"


def required_by_policy(user: User) -> bool:
    """Must this account use a second factor, set up or not?"""
    if not (settings.STAFF_REQUIRE_2FA and user.is_active):
        return False
    return user.is_superuser or user.groups.filter(name__in=SECOND_FACTOR_GROUPS).exists()


def has_second_factor(user: User) -> bool:
    has_device: bool = TOTPDevice.objects.filter(user=user, confirmed=True).exists()
    return has_device


def second_factor_needed(user: User) -> bool:
    """Staff with an authenticator set up always use it; the policy adds those who must."""
    if not user.is_staff and not user.is_superuser:
        return False
    return has_second_factor(user) or required_by_policy(user)


def looks_like_totp(code: str) -> bool:
    return len(code) == 6 and code.isascii() and code.isdigit()


def verify_code(user: User, code: str) -> Device | None:
    """The device that accepts ``code`` (a TOTP code, or a recovery code, used up), or None.

    django-otp refuses a TOTP code of a time step already used (``last_t``) and backs off
    after failures per device, so a code cannot be replayed or guessed at speed.
    """
    code = "".join(code.split()).lower()
    if not code:
        return None
    model = TOTPDevice if looks_like_totp(code) else StaticDevice
    with transaction.atomic():
        for device in model.objects.devices_for_user(user, confirmed=True).select_for_update():
            if device.verify_token(code):
                return device
    return None


def pending_enrolment(user: User) -> TOTPDevice:
    """The authenticator being set up (unconfirmed), made on first call, the same until used."""
    device = TOTPDevice.objects.filter(user=user, confirmed=False).order_by("pk").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name=TOTP_DEVICE_NAME, confirmed=False)
    return device


@dataclass(frozen=True)
class Enrolment:
    device: TOTPDevice
    recovery_codes: list[str]


@transaction.atomic
def confirm_enrolment(user: User, code: str) -> Enrolment | None:
    """Confirm the pending authenticator with a code it made; None if the code is wrong.

    Replaces any authenticator set up before and issues a fresh set of recovery codes.
    """
    device = (
        TOTPDevice.objects.select_for_update()
        .filter(user=user, confirmed=False)
        .order_by("pk")
        .first()
    )
    code = "".join(code.split())
    if device is None or not looks_like_totp(code) or not device.verify_token(code):
        return None
    TOTPDevice.objects.filter(user=user).exclude(pk=device.pk).delete()
    device.confirmed = True
    device.save(update_fields=["confirmed"])
    return Enrolment(device=device, recovery_codes=new_recovery_codes(user))


@transaction.atomic
def new_recovery_codes(user: User) -> list[str]:
    """A new set of single-use recovery codes; the previous set stops working."""
    StaticDevice.objects.filter(user=user).delete()
    device = StaticDevice.objects.create(user=user, name=RECOVERY_DEVICE_NAME, confirmed=True)
    codes = [StaticToken.random_token() for _ in range(RECOVERY_CODE_COUNT)]
    StaticToken.objects.bulk_create([StaticToken(device=device, token=code) for code in codes])
    return codes


def remaining_recovery_codes(user: User) -> int:
    remaining: int = StaticToken.objects.filter(device__user=user, device__confirmed=True).count()
    return remaining
