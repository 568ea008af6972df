"""The diagrams in docs/ are what the code declares today."""

from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

DOCS = Path(__file__).resolve().parents[2] / "docs"


@pytest.mark.parametrize(
    ("fmt", "filename"), [("dot", "state-machine.dot"), ("mermaid", "state-machine.md")]
)
def test_checked_in_diagram_matches_the_code(fmt, filename):
    out = StringIO()
    call_command("order_state_diagram", format=fmt, stdout=out)
    assert (DOCS / filename).read_text() == out.getvalue(), (
        f"Regenerate: python manage.py order_state_diagram --format {fmt} > docs/{filename}"
    )


def test_diagram_has_every_edge_once():
    from orders.diagram import edges

    pairs = [(e.source, e.target) for e in edges()]
    # The designed machine has 41 edges (7 of them "back to the state before the dispute");
    # checkout adds 2 cash-on-delivery refusals (shipped/in_transit -> cancelled): see
    # docs/architecture.md, "The state machine".
    assert len(pairs) == len(set(pairs)) == 43
