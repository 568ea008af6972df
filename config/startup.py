"""What every entry point checks before the shop starts: manage.py, wsgi, asgi and Celery.

A secret key is required with DEBUG off, except by the manage.py commands that only read the
code (migrations written, listed or shown as SQL; help): a CI job or a developer can check the
models against their migrations without production secrets.
"""

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

MISSING_SIGNING_KEY_MESSAGE = "SECRET_KEY must be set when DEBUG is off."
CODE_ONLY_COMMANDS = frozenset(
    {"makemigrations", "showmigrations", "sqlmigrate", "help", "version"}
)


def require_secret_key() -> None:
    """Raise ``ImproperlyConfigured`` when the settings have no secret key (DEBUG off)."""
    settings.INSTALLED_APPS  # noqa: B018  (loads the settings: their own errors come first)
    try:
        has_key = bool(settings.SECRET_KEY)
    except ImproperlyConfigured:  # Django's own, vaguer refusal of an empty key
        has_key = False
    if not has_key:
        raise ImproperlyConfigured(MISSING_SIGNING_KEY_MESSAGE)


def check_manage_py(argv: list[str]) -> None:
    """The checks ``manage.py`` runs for the command in ``argv`` (its ``sys.argv``)."""
    command = argv[1] if len(argv) > 1 else "help"
    settings.INSTALLED_APPS  # noqa: B018
    if command not in CODE_ONLY_COMMANDS and not command.startswith("-"):
        require_secret_key()
