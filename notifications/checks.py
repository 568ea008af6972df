"""Deployment checks: a production shop that cannot send its messages should say so early."""

from django.conf import settings
from django.core.checks import CheckMessage, Error, Info, Warning, register

# SMS providers that send nothing: the development console is an error in production (nobody
# would get the message, and the log is no place for it); "none" is a deliberate choice.
_NOT_SENDING_SMS = {
    "console": (
        Error,
        "SMS_PROVIDER=console with DEBUG off: customers' SMS would never be sent.",
        "notifications.E001",
    ),
    "none": (
        Info,
        "SMS_PROVIDER is none: customers get no SMS (email only).",
        "notifications.I004",
    ),
}
_SMS_CREDENTIALS = {
    "twilio": ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER"],
    "termii": ["TERMII_API_KEY", "TERMII_SENDER_ID"],
}


@register(deploy=True)
def notification_delivery_configured(app_configs, **kwargs) -> list[CheckMessage]:
    # Unset mail settings are reported as Info: a fresh deployment passes `check --deploy`
    # with only SITE_URL and SECRET_KEY, and still sees what it has not configured yet.
    warnings: list[CheckMessage] = []
    smtp = settings.EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend"
    if not settings.DEBUG and smtp and not settings.EMAIL_HOST:
        warnings.append(
            Info(
                "EMAIL_HOST is not set: customer emails will fail and end up dead.",
                hint="Set EMAIL_HOST (and EMAIL_HOST_USER/PASSWORD) or an anymail EMAIL_BACKEND.",
                id="notifications.I001",
            )
        )
    if not settings.DEBUG and settings.SMS_PROVIDER in _NOT_SENDING_SMS:
        level, text, check_id = _NOT_SENDING_SMS[settings.SMS_PROVIDER]
        warnings.append(
            level(
                text,
                hint="Set SMS_PROVIDER to twilio or termii, with its credentials.",
                id=check_id,
            )
        )
    missing = [
        name
        for name in _SMS_CREDENTIALS.get(settings.SMS_PROVIDER, [])
        if not getattr(settings, name)
    ]
    if missing:
        warnings.append(
            Warning(
                f"SMS_PROVIDER={settings.SMS_PROVIDER} but {', '.join(missing)} unset.",
                id="notifications.W002",
            )
        )
    if not settings.DEBUG and not settings.SHOP_STAFF_ALERT_EMAILS:
        warnings.append(
            Info(
                "SHOP_STAFF_ALERT_EMAILS is empty: staff alerts (disputes, orders needing "
                "attention) are logged and dropped.",
                id="notifications.I003",
            )
        )
    return warnings
