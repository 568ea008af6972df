import pytest
from django.core.exceptions import ValidationError

from core.phones import normalize_phone


@pytest.mark.parametrize(
    ("raw", "region", "expected"),
    [
        ("08031234567", None, "+2348031234567"),
        ("0803 123 4567", None, "+2348031234567"),
        ("+234 803 123 4567", None, "+2348031234567"),
        ("+44 20 7946 0958", None, "+442079460958"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("(415) 555-2671", "us", "+14155552671"),
    ],
)
def test_normalize_phone_returns_e164(raw, region, expected):
    assert normalize_phone(raw, region) == expected


@pytest.mark.parametrize("raw", ["", "hello", "123", "+234 803", "0803123456789012"])
def test_normalize_phone_refuses_invalid_numbers(raw):
    with pytest.raises(ValidationError) as excinfo:
        normalize_phone(raw)
    assert excinfo.value.messages == ["Enter a valid phone number, e.g. +2348031234567."]
