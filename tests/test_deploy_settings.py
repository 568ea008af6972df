"""Production settings, read from the environment exactly as a deployment gives them."""

import json
import os
import secrets
import subprocess
import sys
from pathlib import Path

import pytest

PROJECT_DIR = Path(__file__).resolve().parent.parent


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    base = {
        "PATH": os.environ.get("PATH", ""),
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "ENV_FILE": "",  # exactly the deployment's variables, never a developer's .env
    }
    return subprocess.run(  # noqa: S603 - fixed argv, our own manage.py
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env={**base, **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _production(**env: str) -> dict[str, str]:
    """A deployment's minimal environment, plus ``env``."""
    return {
        "DEBUG": "0",
        "SITE_URL": "https://shop.example.com",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "shop.example.com",
        "DATABASE_URL": "postgres://shop:secret@db.internal:5432/shop",
        "REDIS_URL": "redis://cache.internal:6379/0",
        **env,
    }


def test_production_settings_pass_the_deploy_check_without_warnings():
    result = _manage("check", "--deploy", "--fail-level", "WARNING", **_production())
    assert result.returncode == 0, result.stdout + result.stderr
    # Info notes (e.g. "EMAIL_HOST is not set") may be listed; warnings and errors may not.
    assert "WARNINGS:" not in result.stdout + result.stderr
    assert "ERRORS:" not in result.stdout + result.stderr


def test_a_fully_configured_production_passes_the_deploy_check_with_no_issues():
    env = _production(
        EMAIL_HOST="smtp.example.com",
        SHOP_STAFF_ALERT_EMAILS="ops@example.com",
        SMS_PROVIDER="termii",
        TERMII_API_KEY="termii-key",
        TERMII_SENDER_ID="DemoShop",
    )
    result = _manage("check", "--deploy", "--fail-level", "INFO", **env)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues (0 silenced)." in result.stdout


def test_the_console_sms_provider_fails_the_deploy_check():
    result = _manage("check", "--deploy", **_production(SMS_PROVIDER="console"))
    assert result.returncode != 0
    assert "notifications.E001" in result.stderr


def test_production_refuses_to_start_without_a_secret_key():
    result = _manage("check", DEBUG="0", SITE_URL="https://shop.example.com")
    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off." in result.stderr


def test_checking_the_migrations_needs_no_secret_key():
    # CI and developers compare the models with their migrations without production secrets.
    for command in (["makemigrations", "--check", "--dry-run"], ["showmigrations", "shop"]):
        result = _manage(*command)

        assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("entry_point", ["config.wsgi", "config.asgi"])
def test_the_app_servers_refuse_to_start_without_a_secret_key(entry_point):
    result = subprocess.run(  # noqa: S603 - fixed argv: this interpreter imports our module
        [sys.executable, "-c", f"import {entry_point}"],
        cwd=PROJECT_DIR,
        env={"PATH": os.environ.get("PATH", ""), "ENV_FILE": "", "DEBUG": "0"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off." in result.stderr


@pytest.mark.parametrize("program", ["worker", "beat"])
def test_celery_refuses_to_start_without_a_secret_key(program, tmp_path):
    celery = str(Path(sys.executable).parent / "celery")
    result = subprocess.run(  # noqa: S603 - fixed argv: the locked celery beside python
        [celery, "-A", "config", program, "--loglevel", "WARNING"]
        + (["--pool", "solo"] if program == "worker" else ["-s", str(tmp_path / "schedule")]),
        cwd=PROJECT_DIR,
        env={"PATH": os.environ.get("PATH", ""), "ENV_FILE": "", "DEBUG": "0"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off." in result.stdout + result.stderr


def _database_options(**env: str) -> dict:
    result = _manage(
        "shell",
        "-c",
        "import json; from django.conf import settings; "
        "print(json.dumps(settings.DATABASES['default'].get('OPTIONS', {})))",
        DEBUG="1",
        **env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_postgresql_uses_server_side_binding_and_prepared_statements_unless_turned_off():
    url = "postgres://shop@db.example.com:5432/shop"
    assert _database_options(DATABASE_URL=url) == {
        "server_side_binding": True,
        "prepare_threshold": 5,
    }
    assert _database_options(DATABASE_URL=url, DB_PREPARED_STATEMENTS="0") == {}
    # SQLite (the embedded default) has neither.
    assert "prepare_threshold" not in _database_options()


def _setting(name: str, **env: str) -> object:
    result = _manage(
        "shell",
        "-c",
        "import json; from django.conf import settings; "
        f"print(json.dumps(getattr(settings, {name!r}, None), default=str))",
        **{"DEBUG": "0", "SECRET_KEY": secrets.token_urlsafe(50), **env},
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_x_forwarded_proto_is_believed_only_behind_a_declared_proxy():
    https = {"SITE_URL": "https://shop.example.com"}
    assert _setting("SECURE_PROXY_SSL_HEADER", **https) is None
    assert _setting("SECURE_PROXY_SSL_HEADER", NUM_PROXIES="1", **https) == [
        "HTTP_X_FORWARDED_PROTO",
        "https",
    ]


def test_staff_two_factor_is_on_in_production_and_off_in_development_by_default():
    assert _setting("STAFF_REQUIRE_2FA") is True
    assert _setting("STAFF_REQUIRE_2FA", STAFF_REQUIRE_2FA="0") is False
    assert _setting("STAFF_REQUIRE_2FA", DEBUG="1") is False


def test_account_lifetimes_read_durations_from_the_environment():
    assert _setting("AUTH_TOKEN_TTL") == "30 days, 0:00:00"
    assert _setting("STAFF_TOKEN_TTL") == "12:00:00"
    assert _setting("STAFF_TOKEN_TTL", STAFF_TOKEN_TTL="8h") == "8:00:00"
    assert _setting("AUTH_TOKEN_TTL", AUTH_TOKEN_TTL="604800") == "7 days, 0:00:00"
    assert _setting("PASSWORD_RESET_URL", SITE_URL="https://shop.example.com") == (
        "https://shop.example.com/account/reset/"
    )
    refused = _manage("check", DEBUG="1", STAFF_TOKEN_TTL="soon")
    assert refused.returncode != 0
    assert "STAFF_TOKEN_TTL must be a positive duration" in refused.stderr
