"""Deployment checks: a production shop that cannot send its messages should say so early."""

from django.conf import settings
from django.core.checks import CheckMessage, Info, Warning, register

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
