"""docs/money-safety.md names the test behind each way money or stock moves: every one exists."""

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_test_the_money_safety_table_names_exists():
    table = (ROOT / "docs" / "money-safety.md").read_text()
    named = re.findall(r"`(tests/[^`:]+)::(\w+)", table)
    assert len(named) > 50
    missing = [
        f"{path}::{name}"
        for path, name in named
        if not (ROOT / path).is_file() or f"def {name}(" not in (ROOT / path).read_text()
    ]
    assert missing == []
