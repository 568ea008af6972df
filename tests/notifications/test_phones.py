import pytest
from django.core.exceptions import ValidationError

from core.phones import normalize_phone


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("08031234567", "+2348031234567"),
        ("0803 123 4567", "+2348031234567"),
        ("+234 803 123 4567", "+2348031234567"),
        ("+44 20 7946 0958", "+442079460958"),
    ],
)
def test_numbers_are_normalised_to_e164_in_the_shop_country(raw, expected):
    assert normalize_phone(raw) == expected


def test_an_explicit_region_reads_national_numbers_there():
    assert normalize_phone("020 7946 0958", region="GB") == "+442079460958"


@pytest.mark.parametrize("raw", ["", "   ", "hello", "12", "+234 803"])
def test_invalid_numbers_are_refused(raw):
    with pytest.raises(ValidationError) as excinfo:
        normalize_phone(raw)
    assert excinfo.value.code == "invalid_phone"
