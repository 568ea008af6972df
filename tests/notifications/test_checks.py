from notifications.checks import notification_delivery_configured


def _ids(settings_overrides, settings) -> list[str]:
    for name, value in settings_overrides.items():
        setattr(settings, name, value)
    return [w.id for w in notification_delivery_configured(None)]


def test_a_configured_production_shop_has_no_warnings(settings):
    assert _ids({
        "DEBUG": False,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "smtp.example.com",
        "SMS_PROVIDER": "termii",
        "TERMII_API_KEY": "key",
        "TERMII_SENDER_ID": "DemoShop",
        "SHOP_STAFF_ALERT_EMAILS": ["ops@example.com"],
    }, settings) == []  # fmt: skip


def test_missing_email_host_sms_credentials_and_staff_addresses_are_reported(settings):
    assert _ids({
        "DEBUG": False,
        "EMAIL_BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "EMAIL_HOST": "",
        "SMS_PROVIDER": "twilio",
        "TWILIO_ACCOUNT_SID": "AC1",
        "TWILIO_AUTH_TOKEN": "",
        "TWILIO_FROM_NUMBER": "",
        "SHOP_STAFF_ALERT_EMAILS": [],
    }, settings) == ["notifications.I001", "notifications.W002", "notifications.I003"]  # fmt: skip
