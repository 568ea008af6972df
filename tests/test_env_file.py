"""A developer's .env fills in unset variables; the real environment always wins."""

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.exceptions import ImproperlyConfigured

from config.env import load_env_file

PROJECT_DIR = Path(__file__).resolve().parent.parent


@pytest.fixture
def clean_env(monkeypatch):
    for name in ("SHOP_ENV_A", "SHOP_ENV_B", "SHOP_ENV_C", "SHOP_ENV_D"):
        monkeypatch.delenv(name, raising=False)
    return monkeypatch


def test_values_fill_in_unset_variables_and_never_override_set_ones(tmp_path, clean_env):
    env_file = tmp_path / ".env"
    env_file.write_text(
        "# a comment\n\nSHOP_ENV_A=plain\nexport SHOP_ENV_B='quoted value'\n"
        'SHOP_ENV_C="x=y"\nSHOP_ENV_D=from-file\n'
    )
    clean_env.setenv("SHOP_ENV_D", "from-environment")

    load_env_file(env_file)

    assert os.environ["SHOP_ENV_A"] == "plain"
    assert os.environ["SHOP_ENV_B"] == "quoted value"
    assert os.environ["SHOP_ENV_C"] == "x=y"
    assert os.environ["SHOP_ENV_D"] == "from-environment"


def test_a_missing_file_is_fine(tmp_path):
    load_env_file(tmp_path / "absent.env")


def test_a_malformed_line_names_its_line(tmp_path, clean_env):
    env_file = tmp_path / ".env"
    env_file.write_text("SHOP_ENV_A=1\nnot a setting\n")
    with pytest.raises(ImproperlyConfigured, match="line 2: expected KEY=VALUE"):
        load_env_file(env_file)


def _manage(*args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(  # noqa: S603 - fixed argv, our own manage.py
        [sys.executable, "manage.py", *args],
        cwd=PROJECT_DIR,
        env={"PATH": os.environ.get("PATH", ""), **env},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def test_manage_py_reads_the_env_file_it_is_pointed_at(tmp_path):
    env_file = tmp_path / "dev.env"
    env_file.write_text(f"DEBUG=1\nSQLITE_PATH={tmp_path / 'dev.sqlite3'}\n")
    result = _manage("makemigrations", "--check", "--dry-run", ENV_FILE=str(env_file))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "No changes detected" in result.stdout


def test_a_configuration_error_is_one_clear_line_not_a_traceback():
    result = _manage("migrate", "--plan", ENV_FILE="")
    assert result.returncode == 1
    assert result.stderr.startswith(
        "Configuration error: SECRET_KEY must be set when DEBUG is off."
    )
    assert "Traceback" not in result.stderr
