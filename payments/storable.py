"""Text that PostgreSQL can store: no NUL, no lone surrogates.

PostgreSQL ``text`` and ``jsonb`` refuse the NUL character (``\\u0000`` in JSON), and UTF-8
cannot encode a lone surrogate (``\\ud800`` in JSON decodes to one in Python). Both reach us in
webhook bodies, which must still be stored (for audit, or to be processed), so such characters
are replaced by U+FFFD, the replacement character: visibly not what was sent, and never part of
one of our references or a gateway id, so a replaced value can match nothing by accident.
"""

from __future__ import annotations

import re
from typing import Any

REPLACEMENT = "\ufffd"
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")


def is_storable(text: str) -> bool:
    return _UNSTORABLE.search(text) is None


def storable_text(text: str) -> str:
    return _UNSTORABLE.sub(REPLACEMENT, text)


def storable(value: Any) -> Any:
    """``value`` (JSON-like: dicts, lists, strings, numbers) with every string made storable."""
    if isinstance(value, str):
        return storable_text(value)
    if isinstance(value, dict):
        return {storable(k): storable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [storable(item) for item in value]
    return value
