"""SMS providers, picked by the SMS_PROVIDER setting (none, console, twilio, termii)."""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from notifications.channels.sms.base import SmsProvider
from notifications.channels.sms.console import ConsoleProvider, SwitchedOffProvider
from notifications.channels.sms.termii import TermiiProvider
from notifications.channels.sms.twilio import TwilioProvider

__all__ = ["SmsProvider", "get_sms_provider"]


def get_sms_provider(name: str | None = None) -> SmsProvider:
    name = (name or settings.SMS_PROVIDER).lower()
    if name == "none":
        return SwitchedOffProvider()
    if name == "console":
        return ConsoleProvider()
    if name == "twilio":
        return TwilioProvider(
            account_sid=settings.TWILIO_ACCOUNT_SID,
            auth_token=settings.TWILIO_AUTH_TOKEN,
            from_number=settings.TWILIO_FROM_NUMBER,
            base_url=settings.TWILIO_BASE_URL,
        )
    if name == "termii":
        return TermiiProvider(
            api_key=settings.TERMII_API_KEY,
            sender_id=settings.TERMII_SENDER_ID,
            base_url=settings.TERMII_BASE_URL,
        )
    raise ImproperlyConfigured(
        f"SMS_PROVIDER must be none, console, twilio or termii, got {name!r}"
    )
