"""Decimal amounts <-> a gateway's integer subunits, by the currency's exponent. Never floats."""

from decimal import Decimal

from payments.providers.errors import AmountNotRepresentable, UnsupportedCurrency

# ISO 4217 minor-unit exponents of the currencies the shop may sell in. Gateways may differ from
# ISO (Stripe treats UGX as zero-decimal, as ISO does); extend this table deliberately.
CURRENCY_EXPONENTS: dict[str, int] = {
    "NGN": 2,
    "GHS": 2,
    "KES": 2,
    "ZAR": 2,
    "USD": 2,
    "EUR": 2,
    "GBP": 2,
    "CAD": 2,
    "XOF": 0,
    "XAF": 0,
    "RWF": 0,
    "JPY": 0,
    "UGX": 0,
}


def currency_exponent(currency: str) -> int:
    try:
        return CURRENCY_EXPONENTS[currency.upper()]
    except KeyError:
        raise UnsupportedCurrency(
            f"Currency {currency!r} is not supported.", details={"currency": currency}
        ) from None


def _require_decimal(amount: object) -> Decimal:
    if not isinstance(amount, Decimal) or not amount.is_finite():
        raise TypeError(f"Money must be a finite Decimal, got {amount!r}")
    return amount


def quantize_major(amount: Decimal, currency: str) -> Decimal:
    """The amount at the currency's precision; refuses amounts that would need rounding."""
    amount = _require_decimal(amount)
    exponent = currency_exponent(currency)
    quantum = Decimal(1).scaleb(-exponent)
    quantized = amount.quantize(quantum)
    if quantized != amount:
        raise AmountNotRepresentable(
            f"{amount} {currency} has more than {exponent} decimal places.",
            details={"amount": str(amount), "currency": currency},
        )
    return quantized


def to_subunits(amount: Decimal, currency: str) -> int:
    """12.34 NGN -> 1234 kobo; 500 JPY -> 500."""
    major = quantize_major(amount, currency)
    return int(major.scaleb(currency_exponent(currency)))


def from_subunits(subunits: int | str | Decimal, currency: str) -> Decimal:
    """1234 kobo -> Decimal('12.34'). Accepts integer strings (Paystack sends some amounts so)."""
    if isinstance(subunits, bool | float):
        raise TypeError(f"Subunits must be an integer, got {subunits!r}")
    value = Decimal(subunits) if not isinstance(subunits, Decimal) else subunits
    if not value.is_finite() or value != value.to_integral_value():
        raise ValueError(f"Subunits must be an integer, got {subunits!r}")
    exponent = currency_exponent(currency)
    return value.scaleb(-exponent).quantize(Decimal(1).scaleb(-exponent))
