"""Typed readers for environment variables (12-factor settings)."""

import os
import re
from datetime import timedelta
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None:
        return default
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (1/0, true/false), got {raw!r}")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise ImproperlyConfigured(f"{name} must be an integer, got {raw!r}") from exc


_DURATION_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}


def env_duration(name: str, default: timedelta) -> timedelta:
    """A positive duration: whole seconds, or a number with one unit ("30d", "12h", "15m")."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    match = re.fullmatch(r"(\d+)\s*([smhd]?)", raw.strip().lower())
    if match is None or int(match.group(1)) == 0:
        raise ImproperlyConfigured(
            f"{name} must be a positive duration (seconds, or e.g. 30d, 12h, 15m), got {raw!r}"
        )
    return timedelta(seconds=int(match.group(1)) * _DURATION_UNITS[match.group(2)])


def env_list(name: str, default: list[str] | None = None) -> list[str]:
    raw = os.environ.get(name)
    if raw is None:
        return list(default or [])
    return [item.strip() for item in raw.split(",") if item.strip()]


def load_env_file(path: Path) -> None:
    """Read ``KEY=VALUE`` lines of a local ``.env`` file into the environment.

    For development only: real environment variables always win (the file only fills in what
    is unset), blank lines and ``#`` comments are skipped, and surrounding quotes are removed.
    A missing file is fine. Production sets real variables and ships no ``.env``.
    """
    if not path.is_file():
        return
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("export "):
            line = line[len("export ") :].lstrip()
        name, sep, value = line.partition("=")
        name = name.strip()
        if not sep or not name.isidentifier():
            raise ImproperlyConfigured(f"{path.name} line {number}: expected KEY=VALUE")
        value = value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in {'"', "'"}:
            value = value[1:-1]
        os.environ.setdefault(name, value)
