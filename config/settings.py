"""Settings, read from the environment (see the configuration table in README.md).

With no environment at all (plus DEBUG=1) the shop runs on an SQLite file in the project
folder with tasks executed inline: the embedded default. Production sets DATABASE_URL,
REDIS_URL, SECRET_KEY, ALLOWED_HOSTS and an https SITE_URL.
"""

from datetime import timedelta
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
import django_stubs_ext
from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured
from kombu import Queue

from config.env import env_bool, env_duration, env_int, env_list, env_str, load_env_file

BASE_DIR = Path(__file__).resolve().parent.parent

# Django's generic classes take their type parameters at run time too (``ModelAdmin[Order]``),
# as django-stubs declares them for mypy.
django_stubs_ext.monkeypatch()

# A developer's local .env (git-ignored; see .env.example). ENV_FILE names another file, or
# is empty to read none (the test suite does that, so a local .env cannot change its results).
_env_file = env_str("ENV_FILE", str(BASE_DIR / ".env"))
if _env_file:
    load_env_file(Path(_env_file))

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "insecure-development-key-only-used-with-debug-on"  # noqa: S105
# Previous keys, still accepted for signatures made before a rotation (docs/deploy.md).
SECRET_KEY_FALLBACKS = env_list("SECRET_KEY_FALLBACKS", [])

SITE_URL = env_str("SITE_URL", "http://127.0.0.1:8000").rstrip("/")
_site = urlsplit(SITE_URL)
if _site.scheme not in {"http", "https"} or not _site.hostname:
    raise ImproperlyConfigured(f"SITE_URL must be an absolute http(s) URL, got {SITE_URL!r}")
SITE_IS_HTTPS = _site.scheme == "https"

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["localhost", "127.0.0.1", "[::1]", _site.hostname])
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [f"{_site.scheme}://{_site.netloc}"])

SHOP_NAME = env_str("SHOP_NAME", "Demo Skincare Shop")
SHOP_DEFAULT_CURRENCY = env_str("SHOP_DEFAULT_CURRENCY", "NGN")
SHOP_DEFAULT_COUNTRY = env_str("SHOP_DEFAULT_COUNTRY", "NG")
SHOP_SUPPORT_EMAIL = env_str("SHOP_SUPPORT_EMAIL", "support@example.com")

INSTALLED_APPS = [
    "accounts",  # first: its admin/base_site.html adds the two-factor link to the admin
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "knox",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "shop",
    "inventory",
    "orders",
    "payments",
    "notifications",
    "backoffice",
    "ops",
]

MIDDLEWARE = [
    "observability.health.HealthProbeMiddleware",  # probes call by address, not the site's name
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",  # static files, before anything touches a session
    "csp.middleware.CSPMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django_otp.middleware.OTPMiddleware",
    "accounts.middleware.StaffSecondFactorMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"
AUTH_USER_MODEL = "shop.User"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]

# --- Database -------------------------------------------------------------------------------
DATABASE_URL = env_str("DATABASE_URL")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL,
            conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
            conn_health_checks=True,
        )
    }
    if DATABASES["default"]["ENGINE"] == "django.db.backends.postgresql":
        # Django's backend plus held writes sent together, for checkout's hot path
        # (core/db/backends/postgresql, docs/performance.md).
        DATABASES["default"]["ENGINE"] = "core.db.backends.postgresql"
    if DATABASES["default"]["ENGINE"] == "core.db.backends.postgresql" and env_bool(
        "DB_PREPARED_STATEMENTS", True
    ):
        # Parameters bound by the server, and statements a connection runs five times kept
        # prepared: PostgreSQL then skips parsing and planning them (checkout's database CPU
        # fell by a third; docs/performance.md). Turn off behind a pooler in transaction mode
        # that does not track prepared statements (PgBouncer before 1.21).
        DATABASES["default"].setdefault("OPTIONS", {}).update(
            server_side_binding=True, prepare_threshold=5
        )
    # Named cursors (QuerySet.iterator()) outlive the transaction that a pooler in transaction
    # mode lends its server connection for: DB_SERVER_SIDE_CURSORS=0 behind PgBouncer.
    DATABASES["default"]["DISABLE_SERVER_SIDE_CURSORS"] = not env_bool(
        "DB_SERVER_SIDE_CURSORS", True
    )
else:
    # The embedded default. IMMEDIATE makes every write transaction take SQLite's write lock
    # at BEGIN, so two checkouts serialise instead of failing with "database is locked" when
    # a read lock is upgraded mid-transaction.
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": env_str("SQLITE_PATH") or BASE_DIR / "db.sqlite3",
            "OPTIONS": {
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DATABASES["default"]["ATOMIC_REQUESTS"] = False  # services own their transactions
# A streaming replica of the primary for read-only staff reports (the dashboard, shop_report):
# core.db.replica routes only the reads made inside `replica_reads()` there. Same options as the
# primary; the test runner points it at the primary's test database (MIRROR).
DATABASE_REPLICA_URL = env_str("DATABASE_REPLICA_URL")
if DATABASE_REPLICA_URL:
    if not DATABASE_URL:
        raise ImproperlyConfigured("DATABASE_REPLICA_URL needs DATABASE_URL (the primary).")
    DATABASES["replica"] = {
        **dj_database_url.parse(
            DATABASE_REPLICA_URL,
            conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
            conn_health_checks=True,
        ),
        "OPTIONS": dict(DATABASES["default"].get("OPTIONS", {})),
        "DISABLE_SERVER_SIDE_CURSORS": DATABASES["default"].get(
            "DISABLE_SERVER_SIDE_CURSORS", False
        ),
        "ATOMIC_REQUESTS": False,
        "TEST": {"MIRROR": "default"},
    }
DATABASE_ROUTERS = ["core.db.replica.ReplicaRouter"]
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache, Redis and Celery ----------------------------------------------------------------
REDIS_URL = env_str("REDIS_URL")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "core.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": env_str("CACHE_KEY_PREFIX", "shop"),
            "OPTIONS": {"socket_connect_timeout": 2, "socket_timeout": 2},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_RESULT_BACKEND = None
CELERY_TASK_ALWAYS_EAGER = not REDIS_URL
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 300)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 240)
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}

# --- Auth -----------------------------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- API ------------------------------------------------------------------------------------
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

# --- i18n, static ---------------------------------------------------------------------------
LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE", "Africa/Lagos")
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = Path(env_str("STATIC_ROOT") or BASE_DIR / "staticfiles")
# `collectstatic` (run when the Docker image is built) writes every file under a content-hashed
# name plus compressed copies; WhiteNoise serves them from the app itself with a year's cache,
# so the admin works behind any proxy. With DEBUG on, the unhashed source files are served.
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
}

# --- Security (production: DEBUG off) -------------------------------------------------------
# Reverse proxies in front of the app: the client address is read from X-Forwarded-For only
# then (0 = use the socket address, so the header cannot be spoofed to dodge limits), and
# X-Forwarded-Proto is believed only then (else any client could claim https).
NUM_PROXIES = env_int("NUM_PROXIES", 0)
if NUM_PROXIES > 0:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SESSION_COOKIE_HTTPONLY = True
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEBUG and SITE_IS_HTTPS:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

# --- Logging --------------------------------------------------------------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}

# --- Shop API: cart, sign-in limits ---------------------------------------------------------------
CART_MAX_QUANTITY = env_int("CART_MAX_QUANTITY", 99)  # units of one product per cart line
# Public account requests (sign-up, token, password reset, emailed links) per client address,
# e.g. "10/min"; empty turns the limit off.
AUTH_THROTTLE_RATE = env_str("AUTH_THROTTLE_RATE", "10/min")
REST_FRAMEWORK["NUM_PROXIES"] = NUM_PROXIES

# --- Notifications --------------------------------------------------------------------------
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


# --- Observability and security: request ids, logs, throttles, metrics --------------------------
INSTALLED_APPS += ["observability", "security"]
# Outermost, so every answer (redirects and errors included) carries a request id and is counted.
MIDDLEWARE = [
    "observability.middleware.RequestIdMiddleware",
    "observability.middleware.RequestMetricsMiddleware",
    *MIDDLEWARE,
]
LOG_FORMAT = env_str("LOG_FORMAT", "plain" if DEBUG else "json").lower()
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, got {LOG_FORMAT!r}")
LOGGING["filters"] = {
    "request_id": {"()": "observability.logs.RequestIdFilter"},
    "redact_secrets": {"()": "observability.logs.RedactSecretsFilter"},
}
LOGGING["formatters"]["json"] = {"()": "observability.logs.JsonFormatter"}
LOGGING["formatters"]["plain"]["format"] = (
    "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"
)
LOGGING["handlers"]["console"]["filters"] = ["request_id", "redact_secrets"]
LOGGING["handlers"]["console"]["formatter"] = LOG_FORMAT
# Workers log through the same LOGGING (JSON, request ids) instead of Celery's own format.
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# Abuse limits, counted in Redis and shared by every process: "N/period" (s, min, hour, day,
# or e.g. "10/30s"); empty turns one off. See README "Security" for the fail modes.
THROTTLE_WEBHOOK_RATE = env_str("THROTTLE_WEBHOOK_RATE", "100/min")  # per client address
THROTTLE_CHECKOUT_RATE = env_str("THROTTLE_CHECKOUT_RATE", "10/min")  # per customer
THROTTLE_STAFF_RATE = env_str("THROTTLE_STAFF_RATE", "30/min")  # per staff user
THROTTLE_LOGIN_RATE = env_str("THROTTLE_LOGIN_RATE", "5/min")  # per client address + email
THROTTLE_PAYMENT_RATE = env_str("THROTTLE_PAYMENT_RATE", "10/min")  # pay, verify: per customer
# The admin login is counted like the token endpoint (AUTH_THROTTLE_RATE, THROTTLE_LOGIN_RATE),
# found by URL name whichever view renders it; after CSRF, which refuses tokenless POSTs first.
ADMIN_LOGIN_URL_NAMES = ["admin:login"]
MIDDLEWARE += ["security.admin_login.AdminLoginThrottleMiddleware"]
# Webhook bodies above this many bytes answer 413 payload_too_large (no gateway sends more).
WEBHOOK_MAX_BODY_BYTES = env_int("WEBHOOK_MAX_BODY_BYTES", 262144)

# /metrics answers only a bearer token or an allowed address; with neither set it is a 404.
METRICS_TOKEN = env_str("METRICS_TOKEN")
METRICS_ALLOWED_IPS = env_list("METRICS_ALLOWED_IPS", [])
if not DEBUG and SITE_IS_HTTPS:
    SECURE_REDIRECT_EXEMPT = [*SECURE_REDIRECT_EXEMPT, r"^metrics$"]  # in-cluster scrapers

# Webhooks only from the gateways' published addresses (defence in depth, off by default).
# An empty list leaves that gateway unrestricted. Paystack's from its webhook docs; Stripe's
# list is at https://stripe.com/files/ips/ips_webhooks.txt; Flutterwave publishes none.
WEBHOOK_IP_ALLOWLIST_ENABLED = env_bool("WEBHOOK_IP_ALLOWLIST_ENABLED", False)
WEBHOOK_ALLOWED_IPS = {
    "paystack": env_list(
        "WEBHOOK_ALLOWED_IPS_PAYSTACK", ["52.31.139.75", "52.49.173.169", "52.214.14.220"]
    ),
    "stripe": env_list("WEBHOOK_ALLOWED_IPS_STRIPE", []),
    "flutterwave": env_list("WEBHOOK_ALLOWED_IPS_FLUTTERWAVE", []),
}

# --- Operations: Celery queues, beat schedule, cron URL ---------------------------------------
# Payment tasks go to their own `money` queue so a backlog of sweeps or emails never delays
# them; run a worker for it with `-Q money` (prefetch is 1 everywhere, see above).
CELERY_TASK_DEFAULT_QUEUE = "celery"
CELERY_TASK_ROUTES = {"payments.*": {"queue": "money"}}
# Every queue a task can be sent to is declared: a plain `celery -A config worker` (no -Q)
# consumes them all; `-Q money` picks a subset (a dedicated payments worker).
CELERY_TASK_QUEUES = [
    Queue(name, routing_key=name)
    for name in sorted(
        {CELERY_TASK_DEFAULT_QUEUE, *(r["queue"] for r in CELERY_TASK_ROUTES.values())}
    )
]
# Seconds before a broker message whose worker vanished without acking is delivered again.
CELERY_BROKER_TRANSPORT_OPTIONS["visibility_timeout"] = env_int("CELERY_VISIBILITY_TIMEOUT", 3600)
# Bearer token of GET /api/cron/cleanup/; unset keeps the endpoint closed (503).
CRON_SECRET = env_str("CRON_SECRET")
# Beat intervals in seconds. Exactly one `celery beat` may run (see README "Operations").
BEAT_SWEEP_LOCKS_SECONDS = env_int("BEAT_SWEEP_LOCKS_SECONDS", 60)
BEAT_EXPIRE_ORDERS_SECONDS = env_int("BEAT_EXPIRE_ORDERS_SECONDS", 300)
BEAT_DISPATCH_NOTIFICATIONS_SECONDS = env_int("BEAT_DISPATCH_NOTIFICATIONS_SECONDS", 60)
BEAT_PURGE_IDEMPOTENCY_KEYS_SECONDS = env_int("BEAT_PURGE_IDEMPOTENCY_KEYS_SECONDS", 3600)
BEAT_ARCHIVE_ORDERS_SECONDS = env_int("BEAT_ARCHIVE_ORDERS_SECONDS", 86400)
BEAT_REDRIVE_WEBHOOKS_SECONDS = env_int("BEAT_REDRIVE_WEBHOOKS_SECONDS", 120)
BEAT_RECONCILE_PAYMENTS_SECONDS = env_int("BEAT_RECONCILE_PAYMENTS_SECONDS", 300)
BEAT_RECONCILE_REFUNDS_SECONDS = env_int("BEAT_RECONCILE_REFUNDS_SECONDS", 300)
BEAT_PURGE_WEBHOOK_EVENTS_SECONDS = env_int("BEAT_PURGE_WEBHOOK_EVENTS_SECONDS", 86400)
BEAT_POLL_DISPUTES_SECONDS = env_int("BEAT_POLL_DISPUTES_SECONDS", 900)


def _every(seconds: int, task: str) -> dict:
    # A run that could not start before the next one is due is dropped, not stacked.
    return {"task": task, "schedule": float(seconds), "options": {"expires": seconds}}


CELERY_BEAT_SCHEDULE = {
    "sweep-expired-locks": _every(BEAT_SWEEP_LOCKS_SECONDS, "inventory.sweep_expired_locks"),
    "expire-overdue-orders": _every(BEAT_EXPIRE_ORDERS_SECONDS, "orders.expire_overdue_orders"),
    "dispatch-notifications": _every(
        BEAT_DISPATCH_NOTIFICATIONS_SECONDS, "notifications.dispatch_notifications"
    ),
    "purge-idempotency-keys": _every(
        BEAT_PURGE_IDEMPOTENCY_KEYS_SECONDS, "orders.purge_idempotency_keys"
    ),
    "archive-finished-orders": _every(
        BEAT_ARCHIVE_ORDERS_SECONDS, "orders.archive_finished_orders"
    ),
    "redrive-stuck-webhooks": _every(
        BEAT_REDRIVE_WEBHOOKS_SECONDS, "payments.redrive_stuck_webhooks"
    ),
    "reconcile-pending-payments": _every(
        BEAT_RECONCILE_PAYMENTS_SECONDS, "payments.reconcile_pending_payments"
    ),
    "reconcile-pending-refunds": _every(
        BEAT_RECONCILE_REFUNDS_SECONDS, "payments.reconcile_pending_refunds"
    ),
    "purge-webhook-events": _every(
        BEAT_PURGE_WEBHOOK_EVENTS_SECONDS, "payments.purge_webhook_events"
    ),
    "poll-gateway-disputes": _every(BEAT_POLL_DISPUTES_SECONDS, "payments.poll_gateway_disputes"),
}

# --- Health alerts (beat task ops.check_health_alerts; same thresholds as
# deploy/prometheus/alerts.yml, which needs editing too if these change) ---------------------
BEAT_CHECK_HEALTH_ALERTS_SECONDS = env_int("BEAT_CHECK_HEALTH_ALERTS_SECONDS", 300)
HEALTH_ALERT_PAYMENT_SUCCESS_MIN_PERCENT = env_int("HEALTH_ALERT_PAYMENT_SUCCESS_MIN_PERCENT", 90)
HEALTH_ALERT_WEBHOOK_FAILURE_MAX_PERCENT = env_int("HEALTH_ALERT_WEBHOOK_FAILURE_MAX_PERCENT", 5)
HEALTH_ALERT_LOCK_EXPIRY_MAX_PERCENT = env_int("HEALTH_ALERT_LOCK_EXPIRY_MAX_PERCENT", 20)
CELERY_BEAT_SCHEDULE["check-health-alerts"] = _every(
    BEAT_CHECK_HEALTH_ALERTS_SECONDS, "ops.check_health_alerts"
)

# --- Audit of sensitive reads (security/audit.py) -------------------------------------------
MIDDLEWARE += ["security.audit.SensitiveReadAuditMiddleware"]

# --- Accounts: tokens, passwords, email verification, staff two-factor (accounts app) --------
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
BEAT_PURGE_EXPIRED_TOKENS_SECONDS = env_int("BEAT_PURGE_EXPIRED_TOKENS_SECONDS", 3600)
CELERY_BEAT_SCHEDULE["purge-expired-tokens"] = _every(
    BEAT_PURGE_EXPIRED_TOKENS_SECONDS, "accounts.purge_expired_tokens"
)

# Content-Security-Policy on every answer (django-csp), the admin and the API docs included:
# scripts only from our own static files. Inline styles stay allowed: Django's admin, Swagger
# UI's page and a few of our admin templates carry style attributes (docs/architecture.md).
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF, UNSAFE_INLINE],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    }
}
