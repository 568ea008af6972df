"""The site: the environment, the secret key and hosts, installed apps and middleware, templates,
static files, security headers and logging."""

from pathlib import Path
from urllib.parse import urlsplit

from csp.constants import NONE, SELF, UNSAFE_INLINE
from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_int, env_list, env_str
from config.settings.environment import BASE_DIR

DEBUG = env_bool("DEBUG", False)

SECRET_KEY = env_str("SECRET_KEY")
if not SECRET_KEY and DEBUG:
    SECRET_KEY = "insecure-development-key-only-used-with-debug-on"  # noqa: S105
# With DEBUG off an empty key is refused where the shop starts (config/startup.py): the app
# servers, Celery and every manage.py command but the few that only read the code
# (makemigrations --check in CI needs no secret). Django refuses it too wherever it signs.
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
    "observability",
    "security",
]

MIDDLEWARE = [
    # Outermost, so every answer (redirects and errors included) carries a request id and is
    # counted.
    "observability.middleware.RequestIdMiddleware",
    "observability.middleware.RequestMetricsMiddleware",
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
    # The admin login is counted like the token endpoint (AUTH_THROTTLE_RATE,
    # THROTTLE_LOGIN_RATE), found by URL name whichever view renders it; after CSRF, which
    # refuses tokenless POSTs first.
    "security.admin_login.AdminLoginThrottleMiddleware",
    "security.audit.SensitiveReadAuditMiddleware",  # sensitive reads (security/audit.py)
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
    # Probes and in-cluster metrics scrapers call over plain http.
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$", r"^metrics$"]
    SESSION_COOKIE_SECURE = True
    CSRF_COOKIE_SECURE = True
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31536000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True

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

# --- Logging: request ids, secrets redacted, JSON in production -----------------------------
LOG_FORMAT = env_str("LOG_FORMAT", "plain" if DEBUG else "json").lower()
if LOG_FORMAT not in {"json", "plain"}:
    raise ImproperlyConfigured(f"LOG_FORMAT must be json or plain, got {LOG_FORMAT!r}")
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request_id": {"()": "observability.logs.RequestIdFilter"},
        "redact_secrets": {"()": "observability.logs.RedactSecretsFilter"},
    },
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s"},
        "json": {"()": "observability.logs.JsonFormatter"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": LOG_FORMAT,
            "filters": ["request_id", "redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": env_str("LOG_LEVEL", "INFO")},
    "loggers": {"django.db.backends": {"level": "WARNING"}},
}
