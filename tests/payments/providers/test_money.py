from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from payments.providers.errors import AmountNotRepresentable, UnsupportedCurrency
from payments.providers.money import (
    CURRENCY_EXPONENTS,
    from_subunits,
    quantize_major,
    to_subunits,
)

currencies = st.sampled_from(sorted(CURRENCY_EXPONENTS))


@pytest.mark.parametrize(
    ("amount", "currency", "subunits"),
    [
        (Decimal("12.34"), "NGN", 1234),
        (Decimal("0.01"), "USD", 1),
        (Decimal("7500"), "KES", 750000),
        (Decimal("7500.00"), "ZAR", 750000),
        (Decimal("500"), "JPY", 500),
        (Decimal("500.00"), "UGX", 500),
        (Decimal("9999999999.99"), "NGN", 999999999999),
    ],
)
def test_to_subunits_uses_the_currency_exponent(amount, currency, subunits):
    assert to_subunits(amount, currency) == subunits


@pytest.mark.parametrize(
    ("amount", "currency"),
    [(Decimal("12.345"), "NGN"), (Decimal("0.001"), "USD"), (Decimal("500.5"), "JPY")],
)
def test_amounts_finer_than_the_currency_are_refused_not_rounded(amount, currency):
    with pytest.raises(AmountNotRepresentable) as caught:
        to_subunits(amount, currency)
    assert caught.value.code == "amount_not_representable"


def test_floats_are_refused():
    with pytest.raises(TypeError):
        to_subunits(12.34, "NGN")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        from_subunits(1234.0, "NGN")  # type: ignore[arg-type]


def test_unknown_currency_is_refused():
    with pytest.raises(UnsupportedCurrency):
        to_subunits(Decimal("1.00"), "XYZ")


def test_from_subunits_reads_integer_strings_as_paystack_sends_them():
    assert from_subunits("5000", "NGN") == Decimal("50.00")
    assert str(from_subunits(5000, "NGN")) == "50.00"
    assert str(from_subunits(500, "JPY")) == "500"


def test_from_subunits_refuses_fractional_subunits():
    with pytest.raises(ValueError, match="integer"):
        from_subunits("12.5", "NGN")


@given(currency=currencies, subunits=st.integers(min_value=0, max_value=10**14))
def test_subunits_round_trip_exactly(currency, subunits):
    assert to_subunits(from_subunits(subunits, currency), currency) == subunits


@given(
    currency=currencies,
    amount=st.decimals(min_value=0, max_value=10**10, places=2, allow_nan=False),
)
def test_representable_amounts_round_trip_and_others_are_refused(currency, amount):
    exponent = CURRENCY_EXPONENTS[currency]
    if amount == amount.quantize(Decimal(1).scaleb(-exponent)):
        subunits = to_subunits(amount, currency)
        assert from_subunits(subunits, currency) == amount
        assert Decimal(subunits) == amount * 10**exponent
    else:
        with pytest.raises(AmountNotRepresentable):
            to_subunits(amount, currency)


@given(currency=currencies, amount=st.decimals(min_value=0, max_value=10**10, places=2))
def test_quantize_major_never_changes_a_value(currency, amount):
    try:
        assert quantize_major(amount, currency) == amount
    except AmountNotRepresentable:
        assert currency in {"JPY", "UGX", "XOF", "XAF", "RWF"}
