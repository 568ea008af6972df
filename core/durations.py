"""One parser for the durations an operator types: "90d", "12h", "30m", "45s"."""

import argparse
import re
from datetime import timedelta

_DURATION = re.compile(r"^\s*(\d+)\s*([dhms])\s*$")
_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_duration(text: str) -> timedelta:
    """``"90d"`` → 90 days. A whole number and one unit: d, h, m or s. Zero is refused."""
    match = _DURATION.match(text or "")
    if not match or int(match.group(1)) == 0:
        raise ValueError(
            f"{text!r} is not a duration: use a positive whole number and a unit, "
            "e.g. 90d, 12h, 30m or 45s."
        )
    return timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})


def duration_argument(text: str) -> timedelta:
    """``argparse`` type: a clear usage error instead of a traceback."""
    try:
        return parse_duration(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def format_duration(value: timedelta) -> str:
    seconds = int(value.total_seconds())
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
