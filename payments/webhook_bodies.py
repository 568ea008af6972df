"""What a webhook body becomes when it is stored: redacted, and bounded when it was refused.

Processing never reads the stored body (events are processed from their normalised form), so
the copy is for audit only and keeps what ``payments.redaction`` allows for the gateway: no
authorization codes, card bin/last4/expiry, customer e-mail or IP address. A body that is not
JSON is kept as text with card-number-like digit runs masked. A refused (badly signed) body is
anyone's input: only its first ``REFUSED_BODY_PREFIX_BYTES`` are kept, with the length and the
SHA-256 of what was received, so an incident can still be matched with the sender's logs.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from payments.models import REFUSED_BODY_PREFIX_BYTES
from payments.providers.http import decode_json, encode_json
from payments.redaction import mask_card_numbers, redact
from payments.storable import storable, storable_text


@dataclass(frozen=True)
class StoredBody:
    text: str  # the redacted copy (a prefix of it for refused bodies)
    length: int  # bytes received
    sha256: str  # hex digest of the bytes received


def redacted_text(gateway: str, text: str | bytes) -> str:
    """The allow-listed JSON of a body that parses, else the text with card numbers masked."""
    try:
        parsed = decode_json(text)
    except ValueError:  # not JSON (or nested too deeply to be an event)
        raw = text.decode("utf-8", errors="replace") if isinstance(text, bytes) else text
        return storable_text(mask_card_numbers(raw))
    return encode_json(storable(redact(gateway, parsed))).decode()


def _prefix(text: str, limit: int) -> str:
    # Cut by UTF-8 bytes, dropping a character the cut would split.
    return text.encode()[:limit].decode("utf-8", errors="ignore")


def stored_body(gateway: str, body: bytes, *, refused: bool = False) -> StoredBody:
    text = redacted_text(gateway, body)
    return StoredBody(
        text=_prefix(text, REFUSED_BODY_PREFIX_BYTES) if refused else text,
        length=len(body),
        sha256=hashlib.sha256(body).hexdigest(),
    )
