"""Phone numbers are stored in E.164 so SMS gateways and staff read them the same way."""

import phonenumbers
from django.conf import settings
from django.core.exceptions import ValidationError

INVALID_PHONE_MESSAGE = "Enter a valid phone number, e.g. +2348031234567."


def normalize_phone(raw: str, region: str | None = None) -> str:
    """Return ``raw`` as E.164; numbers without ``+`` are read in ``region`` (default country).

    Raises ``ValidationError`` when the text is not a possible, valid number.
    """
    region = (region or settings.SHOP_DEFAULT_COUNTRY).upper()
    try:
        number = phonenumbers.parse((raw or "").strip(), region)
    except phonenumbers.NumberParseException as exc:
        raise ValidationError(INVALID_PHONE_MESSAGE, code="invalid_phone") from exc
    if not phonenumbers.is_valid_number(number):
        raise ValidationError(INVALID_PHONE_MESSAGE, code="invalid_phone")
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def is_supported_country(code: str) -> bool:
    """ISO 3166-1 alpha-2 codes that phonenumbers knows (every country a parcel can go to)."""
    return code in phonenumbers.SUPPORTED_REGIONS
