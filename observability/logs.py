"""Logging pieces for ``settings.LOGGING``: request-id filter, secret redaction, JSON lines.

Stdlib logging only. The filters sit on the handler, so they see every record the handler
writes, whichever library logged it.
"""

import json
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from observability.request_id import get_request_id
from observability.task_context import get_task_context

REDACTED = "[REDACTED]"

# Key names whose values are never logged. Matched as substrings, case-insensitively, with
# "-" and "_" treated alike: "X-Paystack-Signature", "verif-hash", "api_key", "Authorization".
_SECRET_KEY_PARTS = (
    "authorization",
    "password",
    "passwd",
    "secret",
    "token",
    "signature",
    "verif_hash",
    "api_key",
    "apikey",
    "cookie",
    "sessionid",
    "csrf",
    "cvv",
)
_SECRET_KEY_PATTERN = "|".join(re.escape(part).replace("_", "[-_]?") for part in _SECRET_KEY_PARTS)
# `key=value`, `key: value`, `"key": "value"` inside free text; the value ends at a space,
# quote, comma, ampersand or closing bracket. "Bearer x" / "Token x" values go whole.
# Linear in the text's length: a key is tried only where a word starts, the secret part is
# looked for within that word, and the word is then taken whole with nothing to give back.
# (`[\w-]*secret[\w-]*` tried at every offset took quadratic time: 6 ms for a 200-letter
# word, a minute for 20,000, stalling whatever logged it.)
_SECRET_IN_TEXT = re.compile(
    r"(?<![\w-])(?P<key>(?=[\w-]*?(?:" + _SECRET_KEY_PATTERN + r"))[\w-]++)"
    r"(?P<sep>[\"']?\s*[:=]\s*[\"']?)"
    r"(?P<value>(?:(?:Bearer|Token|Basic)\s+)?[^\s\"',&}\]]+)",
    re.IGNORECASE,
)

_JSON_TYPES = (str, int, float, bool, type(None), dict, list, tuple)
# Attributes every LogRecord has; anything else on a record came from `extra=`.
_STANDARD_ATTRS = frozenset(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


def is_secret_key(key: object) -> bool:
    if not isinstance(key, str):
        return False
    normalised = key.lower().replace("-", "_")
    return any(part in normalised for part in _SECRET_KEY_PARTS)


def redact(value: Any) -> Any:
    """A copy of ``value`` with secret-named keys' values and secret-looking text replaced."""
    if isinstance(value, Mapping):
        return {k: REDACTED if is_secret_key(k) else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(item) for item in value]
    if isinstance(value, str):
        return redact_text(value)
    return value


def redact_text(text: str) -> str:
    return _SECRET_IN_TEXT.sub(lambda m: f"{m['key']}{m['sep']}{REDACTED}", text)


class RequestIdFilter(logging.Filter):
    """Adds ``request_id`` (and, inside a Celery task, ``task_id``/``task_name``) to records."""

    def filter(self, record: logging.LogRecord) -> bool:
        # django.request logs 4xx/5xx after the middleware has returned (and cleared the
        # contextvar), but hands over the request itself.
        request = getattr(record, "request", None)
        record.request_id = get_request_id() or getattr(request, "request_id", None) or "-"
        task = get_task_context()
        if task is not None:
            record.task_id, record.task_name = task
        return True


class RedactSecretsFilter(logging.Filter):
    """Defence in depth: code should never log secrets, but if it does they are masked.

    The message is rendered with its arguments and scrubbed; ``extra=`` attributes with
    secret names are replaced, and mapping/list extras are scrubbed recursively.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # a broken format string must not lose the record
            message = str(record.msg)
        record.msg, record.args = redact_text(message), None
        for key, value in list(vars(record).items()):
            if key in _STANDARD_ATTRS:
                continue
            try:
                setattr(record, key, REDACTED if is_secret_key(key) else redact(value))
            except Exception:  # a filter that raises would break the caller's log call
                setattr(record, key, REDACTED)
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time (UTC), level, logger, message, request id, extras."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, tz=UTC).isoformat(
                timespec="milliseconds"
            ),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", None) or get_request_id() or "-",
        }
        for key, value in vars(record).items():
            if key not in _STANDARD_ATTRS and key not in entry:
                entry[key] = value if isinstance(value, _JSON_TYPES) else _safe_str(value)
        if record.exc_info:
            entry["exception"] = redact_text(self.formatException(record.exc_info))
        if record.stack_info:
            entry["stack"] = self.formatStack(record.stack_info)
        return json.dumps(entry, default=_safe_str, ensure_ascii=False)


def _safe_str(value: object) -> str:
    try:
        return redact_text(str(value))
    except Exception:  # an object that cannot render itself must not lose the whole line
        return f"<unprintable {type(value).__name__}>"
