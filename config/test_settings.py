"""Settings for the test suite: real PostgreSQL and Redis on localhost unless told otherwise."""

import os

os.environ.setdefault("ENV_FILE", "")  # a developer's .env must not change the suite
os.environ.setdefault("SECRET_KEY", "test-suite-secret-key-not-for-production-use-0123456789")
os.environ.setdefault("DATABASE_URL", "postgres://postgres@127.0.0.1:5432/shop")
os.environ.setdefault("REDIS_URL", "redis://127.0.0.1:6379/0")

from config.settings import *  # noqa: F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
# Tasks run inline in unit tests; the integration tests start a real worker on real Redis.
CELERY_TASK_ALWAYS_EAGER = True
CACHES["default"]["KEY_PREFIX"] = f"shop-test-{os.getpid()}"  # noqa: F405
AUTH_THROTTLE_RATE = ""  # the suite signs in far more often than a person; tests enable it
# Abuse limits off for the suite (it signs in and checks out far more than a person); the
# throttle tests switch each one on with a small rate and a fake clock.
THROTTLE_WEBHOOK_RATE = THROTTLE_CHECKOUT_RATE = THROTTLE_STAFF_RATE = THROTTLE_LOGIN_RATE = ""
THROTTLE_PAYMENT_RATE = ""
SMS_PROVIDER = "console"  # customers' SMS are queued and "sent" to the log, as in development
THROTTLE_ACCOUNT_EMAIL_RATE = ""
# Test workers consume a queue of their own; the production `money` route would bypass it.
CELERY_TASK_ROUTES: dict = {}
# The suite renders admin pages without running collectstatic first; the hashed-name storage
# (which needs its manifest) is tested against a real collectstatic in tests/test_static_files.py.
# Nothing was collected before the suite: look files up per request instead of indexing
# STATIC_ROOT at start (which warns that it is missing).
WHITENOISE_AUTOREFRESH = True
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
