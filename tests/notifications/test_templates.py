"""Every event's messages, rendered from a realistic context, compared with stored snapshots.

Run with UPDATE_SNAPSHOTS=1 to (re)write the snapshots after an intended change, then review
the diff in git.
"""

import difflib
import os
from pathlib import Path

import pytest
from django.template import TemplateDoesNotExist

from notifications.events import EVENTS
from notifications.rendering import render_email, render_sms
from tests.notifications.samples import MUST_CONTAIN, SAMPLE_CONTEXTS

SNAPSHOTS = Path(__file__).parent / "snapshots"
UPDATE = os.environ.get("UPDATE_SNAPSHOTS") == "1"


@pytest.fixture(autouse=True)
def _fixed_shop_settings(settings):
    settings.SHOP_NAME = "Demo Skincare Shop"
    settings.SHOP_SUPPORT_EMAIL = "support@example.com"
    settings.SITE_URL = "https://shop.example.com"


def _assert_matches_snapshot(name: str, rendered: str) -> None:
    path = SNAPSHOTS / name
    if UPDATE:
        path.write_text(rendered)
        return
    if not path.exists():
        pytest.fail(f"No snapshot {path}; run with UPDATE_SNAPSHOTS=1 to create it.")
    expected = path.read_text()
    if rendered != expected:
        diff = "".join(
            difflib.unified_diff(
                expected.splitlines(keepends=True),
                rendered.splitlines(keepends=True),
                fromfile=f"snapshots/{name}",
                tofile="rendered",
            )
        )
        pytest.fail(f"{name} changed (UPDATE_SNAPSHOTS=1 accepts it):\n{diff}", pytrace=False)


def _parts(event: str) -> dict[str, str]:
    email = render_email(event, SAMPLE_CONTEXTS[event])
    parts = {"subject.txt": email.subject + "\n", "body.txt": email.text, "body.html": email.html}
    if EVENTS[event].has_sms:
        parts["sms.txt"] = render_sms(event, SAMPLE_CONTEXTS[event]) + "\n"
    return parts


def test_every_event_has_a_sample_context():
    assert sorted(SAMPLE_CONTEXTS) == sorted(EVENTS)
    for event, spec in EVENTS.items():
        assert spec.required_context <= SAMPLE_CONTEXTS[event].keys(), event


@pytest.mark.parametrize("event", sorted(EVENTS))
def test_rendered_messages_match_their_snapshots(event):
    for part, rendered in _parts(event).items():
        _assert_matches_snapshot(f"{event}.{part}", rendered)


@pytest.mark.parametrize("event", sorted(EVENTS))
def test_messages_show_the_order_number_amounts_and_links(event):
    parts = _parts(event)
    about_an_order = "order_number" in EVENTS[event].required_context
    if about_an_order:
        assert "ORD-000123" in parts["subject.txt"]
    for part in ("body.txt", "body.html"):
        if about_an_order:
            assert "ORD-000123" in parts[part]
        for expected in MUST_CONTAIN[event]:
            assert expected in parts[part], f"{event} {part} lacks {expected!r}"
    if "sms.txt" in parts:
        assert "ORD-000123" in parts["sms.txt"]
        assert len(parts["sms.txt"]) <= 320, "an SMS longer than two segments costs more"


@pytest.mark.parametrize("event", sorted(e for e, spec in EVENTS.items() if not spec.has_sms))
def test_events_without_sms_have_no_sms_template(event):
    with pytest.raises(TemplateDoesNotExist):
        render_sms(event, SAMPLE_CONTEXTS[event])


def test_html_escapes_customer_text_but_plain_text_does_not():
    email = render_email("order_placed", SAMPLE_CONTEXTS["order_placed"])
    assert "Black Soap &amp; Honey" in email.html
    assert "Black Soap & Honey" in email.text


def test_bank_transfer_instructions_appear_only_when_given():
    context = {**SAMPLE_CONTEXTS["order_placed"]}
    del context["payment_instructions"]
    context["payment_url"] = "https://checkout.paystack.com/abc123"
    email = render_email("order_placed", context)
    assert "bank transfer" not in email.text
    assert "0123456789" not in email.text
    assert "Complete your payment here: https://checkout.paystack.com/abc123" in email.text
