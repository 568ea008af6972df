"""The request id: taken from ``X-Request-ID`` (when safe) or made up, kept in a contextvar.

The contextvar follows the request through every log line and into the Celery tasks it queues
(``observability.celery_signals``), so one id ties together everything a request caused.
"""

import re
import uuid
from contextvars import ContextVar, Token

REQUEST_ID_HEADER = "X-Request-ID"
# Short and free of spaces, quotes and control characters: the id is copied into log lines and
# response headers, so a client must not be able to forge log fields or split headers with it.
_SAFE_REQUEST_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{0,63}")

_request_id: ContextVar[str | None] = ContextVar("request_id", default=None)


def new_request_id() -> str:
    return uuid.uuid4().hex


def clean_request_id(value: object) -> str | None:
    """The value if it is a safe request id, else None."""
    if isinstance(value, str) and _SAFE_REQUEST_ID.fullmatch(value):
        return value
    return None


def get_request_id() -> str | None:
    return _request_id.get()


def set_request_id(value: str | None) -> Token:
    return _request_id.set(value)


def reset_request_id(token: Token) -> None:
    _request_id.reset(token)
