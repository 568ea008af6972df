from datetime import timedelta

import pytest

from core.durations import format_duration, parse_duration


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("90d", timedelta(days=90)),
        ("12h", timedelta(hours=12)),
        ("30m", timedelta(minutes=30)),
        ("45s", timedelta(seconds=45)),
        (" 7d ", timedelta(days=7)),
    ],
)
def test_durations_parse(text, expected):
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "90", "d", "0d", "-1d", "1.5h", "3w", "10 days", "1h30m"])
def test_malformed_durations_are_refused_with_an_example(text):
    with pytest.raises(ValueError, match=r"e\.g\. 90d, 12h, 30m or 45s"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("value", "text"),
    [(timedelta(days=90), "90d"), (timedelta(hours=36), "36h"), (timedelta(seconds=61), "61s")],
)
def test_durations_format_back(value, text):
    assert format_duration(value) == text
