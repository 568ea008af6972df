"""Helpers of the account tests: signing in over the API, reading the links the shop emailed."""

from urllib.parse import parse_qs, urlsplit

from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice
from rest_framework.test import APIClient

from accounts import two_factor
from notifications.models import Notification
from shop.models import User
from tests.factories import DEFAULT_PASSWORD

TOKEN = "/api/auth/token/"
ME = "/api/auth/me/"


def sign_in(email: str, password: str = DEFAULT_PASSWORD, **extra: str):
    return APIClient().post(TOKEN, {"email": email, "password": password, **extra}, format="json")


def client_with(token: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token}")
    return client


def emailed_link(event: str, email: str) -> dict[str, str]:
    """The newest queued ``event`` message to ``email``: its link's address and parameters."""
    message = Notification.objects.filter(template=event, recipient=email).latest("pk")
    url = message.context["reset_url" if event == "password_reset" else "verify_url"]
    parts = urlsplit(url)
    params = {key: values[0] for key, values in parse_qs(parts.query).items()}
    return {"base": f"{parts.scheme}://{parts.netloc}{parts.path}", **params}


def enrolment_for(user: User) -> two_factor.Enrolment:
    """An authenticator set up as the admin does it: the confirmed device and recovery codes."""
    device = two_factor.pending_enrolment(user)
    enrolment = two_factor.confirm_enrolment(user, code_of(device))
    assert enrolment is not None
    return enrolment


def enrol(user: User) -> TOTPDevice:
    """An authenticator set up as the admin does it; returns the confirmed device."""
    return enrolment_for(user).device


def code_of(device: TOTPDevice, steps_ahead: int = 0) -> str:
    """The code the device's app shows now (or ``steps_ahead`` time steps later)."""
    totp = TOTP(device.bin_key, device.step, device.t0, device.digits, device.drift)
    totp.time = totp.time + device.step * steps_ahead
    return f"{totp.token():0{device.digits}d}"
