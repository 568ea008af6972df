"""The API and accounts: password rules, Django REST framework and the schema, the cart's limit,
API tokens, password reset, email verification and staff two-factor."""

from datetime import timedelta

from config.env import env_bool, env_duration, env_int, env_str
from config.settings.site import DEBUG, NUM_PROXIES, SHOP_NAME, SITE_URL

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "shop.authentication.TokenAuthentication",
        "accounts.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["rest_framework.permissions.IsAuthenticated"],
    "DEFAULT_RENDERER_CLASSES": ["core.renderers.JSONRenderer"]
    + (["rest_framework.renderers.BrowsableAPIRenderer"] if DEBUG else []),
    "DEFAULT_PARSER_CLASSES": ["core.parsers.JSONParser"],
    "DEFAULT_PAGINATION_CLASS": "core.api.StandardPagination",
    "PAGE_SIZE": 20,
    "DEFAULT_SCHEMA_CLASS": "core.schema.DocumentedErrorsSchema",
    "EXCEPTION_HANDLER": "core.api.exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
    "NUM_PROXIES": NUM_PROXIES,
}

SPECTACULAR_SETTINGS = {
    "TITLE": "Shop backend API",
    "DESCRIPTION": (
        "Catalog, cart, addresses, checkout, orders and payments. Authenticate with "
        "`Authorization: Token <token>` from `POST /api/auth/token/`. Every error answers "
        '`{"error": {"code", "message", "details"}}`.'
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    "SCHEMA_PATH_PREFIX": r"/api/",
    # Swagger UI's scripts and styles come from our own static files (the sidecar package).
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

CART_MAX_QUANTITY = env_int("CART_MAX_QUANTITY", 99)  # units of one product per cart line

# --- Accounts: tokens, passwords, email verification, staff two-factor (accounts app) --------
# Public account requests (sign-up, token, password reset, emailed links) per client address,
# e.g. "10/min"; empty turns the limit off.
AUTH_THROTTLE_RATE = env_str("AUTH_THROTTLE_RATE", "10/min")
# API tokens are stored hashed (django-rest-knox), one per sign-in, and expire.
AUTH_TOKEN_TTL = env_duration("AUTH_TOKEN_TTL", timedelta(days=30))  # customers
STAFF_TOKEN_TTL = env_duration("STAFF_TOKEN_TTL", timedelta(hours=12))  # is_staff accounts
REST_KNOX = {"TOKEN_TTL": AUTH_TOKEN_TTL, "AUTO_REFRESH": False}
PASSWORD_RESET_URL = env_str("PASSWORD_RESET_URL", f"{SITE_URL}/account/reset/")
# Django's own setting (seconds): how long a reset link works, if not used or outdated before.
PASSWORD_RESET_TIMEOUT = int(
    env_duration("PASSWORD_RESET_TIMEOUT", timedelta(hours=1)).total_seconds()
)
EMAIL_VERIFICATION_URL = env_str("EMAIL_VERIFICATION_URL", f"{SITE_URL}/account/verify/")
EMAIL_VERIFICATION_TIMEOUT = env_duration("EMAIL_VERIFICATION_TIMEOUT", timedelta(days=7))
ACCOUNTS_REQUIRE_VERIFIED_EMAIL = env_bool("ACCOUNTS_REQUIRE_VERIFIED_EMAIL", False)
# Superusers and the Finance group sign in with a TOTP code too (admin and staff API tokens).
STAFF_REQUIRE_2FA = env_bool("STAFF_REQUIRE_2FA", not DEBUG)
OTP_TOTP_ISSUER = SHOP_NAME  # the name authenticator apps show
# Emails with a link (password reset, verification) per address (hashed); fails closed.
THROTTLE_ACCOUNT_EMAIL_RATE = env_str("THROTTLE_ACCOUNT_EMAIL_RATE", "5/hour")
