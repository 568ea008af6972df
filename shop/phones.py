"""Phone numbers: one reader that turns what people type into E.164 (``+2348031234567``)."""

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError


def normalize_phone(raw: str, region: str | None = None) -> str:
    """Return ``raw`` as an E.164 string, or raise ValidationError (code ``invalid_phone``).

    Numbers written without ``+`` are read in ``region`` (default: SHOP_DEFAULT_COUNTRY).
    """
    text = (raw or "").strip()
    if not text:
        raise ValidationError("A phone number is required.", code="invalid_phone")
    try:
        parsed = phonenumbers.parse(text, region or settings.SHOP_DEFAULT_COUNTRY)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(
            "%(raw)s is not a phone number.", code="invalid_phone", params={"raw": raw}
        ) from exc
    if not phonenumbers.is_valid_number(parsed):
        raise ValidationError(
            "%(raw)s is not a valid phone number.", code="invalid_phone", params={"raw": raw}
        )
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)
