"""The services the shop talks to: email, SMS and the payment gateways (keys from the
environment only)."""

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str
from config.settings.site import DEBUG, SHOP_NAME, SHOP_SUPPORT_EMAIL

# --- Email and SMS ------------------------------------------------------------------------------
# Email: SMTP when EMAIL_HOST is set; the console in development without it. EMAIL_BACKEND
# overrides both (e.g. "anymail.backends.mailgun.EmailBackend" — see README).
EMAIL_HOST = env_str("EMAIL_HOST")
EMAIL_PORT = env_int("EMAIL_PORT", 587)
EMAIL_HOST_USER = env_str("EMAIL_HOST_USER")
EMAIL_HOST_PASSWORD = env_str("EMAIL_HOST_PASSWORD")
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", not EMAIL_USE_SSL)  # the two are exclusive
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 30)
EMAIL_BACKEND = env_str("EMAIL_BACKEND") or (
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG and not EMAIL_HOST
    else "django.core.mail.backends.smtp.EmailBackend"
)
DEFAULT_FROM_EMAIL = env_str("DEFAULT_FROM_EMAIL", f"{SHOP_NAME} <{SHOP_SUPPORT_EMAIL}>")
SERVER_EMAIL = env_str("SERVER_EMAIL", DEFAULT_FROM_EMAIL)
# "none" sends no SMS; "console" (development only: `check --deploy` refuses it) logs them.
SMS_PROVIDER = env_str("SMS_PROVIDER", "console" if DEBUG else "none").lower()
if SMS_PROVIDER not in {"none", "console", "twilio", "termii"}:
    raise ImproperlyConfigured(
        f"SMS_PROVIDER must be none, console, twilio or termii, got {SMS_PROVIDER!r}"
    )
TWILIO_ACCOUNT_SID = env_str("TWILIO_ACCOUNT_SID")
TWILIO_AUTH_TOKEN = env_str("TWILIO_AUTH_TOKEN")
TWILIO_FROM_NUMBER = env_str("TWILIO_FROM_NUMBER")
TWILIO_BASE_URL = env_str("TWILIO_BASE_URL", "https://api.twilio.com").rstrip("/")
TERMII_API_KEY = env_str("TERMII_API_KEY")
TERMII_SENDER_ID = env_str("TERMII_SENDER_ID")
TERMII_BASE_URL = env_str("TERMII_BASE_URL", "https://api.ng.termii.com").rstrip("/")
NOTIFICATION_MAX_ATTEMPTS = env_int("NOTIFICATION_MAX_ATTEMPTS", 6)
SHOP_STAFF_ALERT_EMAILS = env_list("SHOP_STAFF_ALERT_EMAILS", [])

# --- Payments -------------------------------------------------------------------------------
# Gateway keys come only from the environment. Base URLs are overridable so tests and staging
# can point a gateway at a fake. See README "Payment gateways".
DEFAULT_PAYMENT_GATEWAY = env_str("DEFAULT_PAYMENT_GATEWAY", "paystack")
PAYSTACK_SECRET_KEY = env_str("PAYSTACK_SECRET_KEY")
PAYSTACK_BASE_URL = env_str("PAYSTACK_BASE_URL", "https://api.paystack.co")
STRIPE_SECRET_KEY = env_str("STRIPE_SECRET_KEY")
STRIPE_WEBHOOK_SECRET = env_str("STRIPE_WEBHOOK_SECRET")
STRIPE_API_BASE = env_str("STRIPE_API_BASE", "https://api.stripe.com")
# Sent as Stripe-Version on every call: the version payments/providers/stripe_provider.py
# follows. Change it only together with that code (and the webhook endpoint's version).
STRIPE_API_VERSION = env_str("STRIPE_API_VERSION") or "2024-06-20"
FLUTTERWAVE_SECRET_KEY = env_str("FLUTTERWAVE_SECRET_KEY")
FLUTTERWAVE_WEBHOOK_HASH = env_str("FLUTTERWAVE_WEBHOOK_HASH")
FLUTTERWAVE_BASE_URL = env_str("FLUTTERWAVE_BASE_URL", "https://api.flutterwave.com")
DUMMY_PAYMENT_SECRET = env_str("DUMMY_PAYMENT_SECRET")  # empty: derived from SECRET_KEY
PAYMENT_HTTP_CONNECT_TIMEOUT = env_int("PAYMENT_HTTP_CONNECT_TIMEOUT", 5)
PAYMENT_HTTP_READ_TIMEOUT = env_int("PAYMENT_HTTP_READ_TIMEOUT", 20)
PAYMENT_HTTP_MAX_RETRIES = env_int("PAYMENT_HTTP_MAX_RETRIES", 2)
