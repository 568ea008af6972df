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


def test_the_console_sms_provider_with_debug_off_is_an_error(settings):
    production = _ids({"DEBUG": False, "SMS_PROVIDER": "console"}, settings)
    development = _ids({"DEBUG": True, "SMS_PROVIDER": "console"}, settings)

    assert "notifications.E001" in production
    assert "notifications.E001" not in development


def test_sms_switched_off_in_production_is_reported_as_information(settings):
    assert "notifications.I004" in _ids({"DEBUG": False, "SMS_PROVIDER": "none"}, settings)
