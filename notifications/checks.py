"""Deployment checks: a production shop that cannot send its messages should say so early."""

from django.conf import settings
from django.core.checks import Warning, register

_SMS_CREDENTIALS = {
    "twilio": ["TWILIO_ACCOUNT_SID", "TWILIO_AUTH_TOKEN", "TWILIO_FROM_NUMBER"],
    "termii": ["TERMII_API_KEY", "TERMII_SENDER_ID"],
}


@register(deploy=True)
def notification_delivery_configured(app_configs, **kwargs) -> list[Warning]:
    warnings: list[Warning] = []
    smtp = settings.EMAIL_BACKEND == "django.core.mail.backends.smtp.EmailBackend"
    if not settings.DEBUG and smtp and not settings.EMAIL_HOST:
        warnings.append(
            Warning(
                "EMAIL_HOST is not set: customer emails will fail and end up dead.",
                hint="Set EMAIL_HOST (and EMAIL_HOST_USER/PASSWORD) or an anymail EMAIL_BACKEND.",
                id="notifications.W001",
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
            Warning(
                "SHOP_STAFF_ALERT_EMAILS is empty: staff alerts (disputes, orders needing "
                "attention) are logged and dropped.",
                id="notifications.W003",
            )
        )
    return warnings
