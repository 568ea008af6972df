"""Read first (``config/settings/__init__.py``): where the project is, and a developer's .env
file loaded into the environment before any setting reads it."""

from pathlib import Path

import django_stubs_ext

from config.env import env_str, load_env_file

BASE_DIR = Path(__file__).resolve().parent.parent.parent

# Django's generic classes take their type parameters at run time too (``ModelAdmin[Order]``),
# as django-stubs declares them for mypy.
django_stubs_ext.monkeypatch()

# A developer's local .env (git-ignored; see .env.example). ENV_FILE names another file, or
# is empty to read none (the test suite does that, so a local .env cannot change its results).
_env_file = env_str("ENV_FILE", str(BASE_DIR / ".env"))
if _env_file:
    load_env_file(Path(_env_file))
