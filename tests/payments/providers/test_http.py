from decimal import Decimal

import pytest

from payments.providers.http import HttpConfig, backoff_delay, decode_json, encode_json


def test_decimals_are_encoded_as_exact_json_numbers():
    body = encode_json({"amount": Decimal("7500.10"), "nested": [Decimal("0.01")], "name": "x"})
    assert body == b'{"amount":7500.10,"nested":[0.01],"name":"x"}'


def test_floats_in_answers_are_read_as_decimal():
    assert decode_json(b'{"amount": 1.4, "n": 3}') == {"amount": Decimal("1.4"), "n": 3}


@pytest.mark.parametrize(
    ("attempt", "rand", "expected"),
    [(0, 0.0, 0.25), (0, 0.999, 0.49975), (1, 0.0, 0.5), (2, 0.5, 1.5), (10, 0.0, 4.0)],
)
def test_backoff_is_exponential_with_jitter_and_capped(attempt, rand, expected):
    config = HttpConfig(backoff_base=0.5, backoff_cap=8.0)
    assert backoff_delay(attempt, config, rand=lambda: rand) == pytest.approx(expected)


@pytest.mark.parametrize(
    "raw",
    [b"[" * 1000, b"[" * 100 + b"]" * 100, b'{"a":' * 65 + b"1" + b"}" * 65],
    ids=["overflowing", "valid-but-100-deep", "65-objects-deep"],
)
def test_json_nested_deeper_than_any_gateway_sends_is_refused_as_malformed(raw):
    with pytest.raises(ValueError, match="nested"):
        decode_json(raw)
