"""Webhook events whose processing keeps failing: a bounded number of attempts, then ``dead``;
a re-drive that old failures cannot monopolise; deferred events that wait as long as needed;
and the admin's replay of dead events, once, for staff allowed to."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from django.test import Client
from django.utils import timezone

from orders.models import Order, OrderEvent
from payments.models import Payment, WebhookEvent
from payments.services import (
    Deferred,
    events,
    process_webhook_event,
    redrive_stuck_webhooks,
    webhooks,
)
from payments.services.webhooks import redrive_queue
from shop.platform_settings import set_setting
from tests.factories import StaffFactory
from tests.payments.helpers import place_order
from tests.payments.test_payment_api import post_webhook

pytestmark = pytest.mark.django_db

NOW = timedelta(0)


@pytest.fixture
def broken_booking(monkeypatch) -> set[str]:
    """References whose booking raises (a bug) until the test removes them (the fix ships)."""
    broken: set[str] = set()
    apply = events.apply_gateway_event  # what the webhooks module calls

    def apply_unless_broken(*, event, payment=None):
        if event.reference in broken:
            raise RuntimeError("booking bug")
        return apply(event=event, payment=payment)

    monkeypatch.setattr(webhooks, "apply_gateway_event", apply_unless_broken)
    return broken


@pytest.fixture
def max_attempts(django_capture_on_commit_callbacks):
    def set_to(value: int) -> None:
        with django_capture_on_commit_callbacks(execute=True):  # drops the settings cache
            set_setting("ops.webhook_max_attempts", value)

    return set_to


@pytest.fixture
def pending_paystack(fake_paystack, customer, customer_client):
    """Place a Paystack order; returns its pending payment."""

    def place() -> Payment:
        response, _ = place_order(customer_client, customer, method="paystack")
        assert response.status_code == 201, response.content
        return Payment.objects.get(order_id=response.json()["id"])

    fake_paystack.webhook_target = None
    return place


def received(fake_paystack, payload: dict[str, Any]) -> WebhookEvent:
    """The gateway posts a signed event; it is stored (its task is not run: no commit here)."""
    body = json.dumps(payload).encode()
    response = post_webhook(body, fake_paystack.signed_headers(body))
    assert response.status_code == 200, response.content
    return WebhookEvent.objects.latest("pk")


def charge_success(reference: str, amount: int = 500000) -> dict[str, Any]:
    return {
        "event": "charge.success",
        "data": {
            "id": 1,
            "reference": reference,
            "amount": amount,
            "currency": "NGN",
            "status": "success",
            "paid_at": timezone.now().isoformat(),
        },
    }


def attempts(row: WebhookEvent) -> tuple[int, bool]:
    row.refresh_from_db()
    return row.attempts, row.dead_at is not None


def test_an_event_failing_for_good_is_dead_after_the_maximum_attempts(
    pending_paystack, fake_paystack, broken_booking, max_attempts
):
    max_attempts(3)
    payment = pending_paystack()
    broken_booking.add(payment.reference)
    row = received(fake_paystack, charge_success(payment.reference))

    history = []
    for _ in range(5):
        redrive_stuck_webhooks(older_than=NOW)
        history.append(attempts(row))

    assert history == [(1, False), (2, False), (3, True), (3, True), (3, True)]
    assert (row.processed_at, row.last_error) == (None, "RuntimeError: booking bug")
    assert row.pk not in set(redrive_queue(older_than=NOW).values_list("pk", flat=True))
    assert Order.objects.get(pk=payment.order_id).state == "pending_payment"


def test_old_events_failing_for_good_never_starve_a_newer_event_of_the_re_drive(
    pending_paystack, fake_paystack, broken_booking, max_attempts
):
    max_attempts(100)  # about fairness, not the dead letter
    old = []
    for n in range(12):
        broken_booking.add(f"OLD-{n}")
        old.append(received(fake_paystack, charge_success(f"OLD-{n}")))
    redrive_stuck_webhooks(older_than=NOW, limit=12)  # each fails once
    two_hours_ago = timezone.now() - timedelta(hours=2)
    WebhookEvent.objects.filter(pk__in=[o.pk for o in old]).update(
        received_at=two_hours_ago, last_attempt_at=timezone.now() - timedelta(minutes=10)
    )
    payment = pending_paystack()
    new = received(fake_paystack, charge_success(payment.reference))
    WebhookEvent.objects.filter(pk=new.pk).update(
        received_at=timezone.now() - timedelta(minutes=6)  # its task was lost
    )

    redrive_stuck_webhooks(older_than=timedelta(minutes=5), limit=5)

    new.refresh_from_db()
    assert (new.outcome, new.attempts) == ("paid", 1)
    assert Order.objects.get(pk=payment.order_id).state == "paid"
    # The other four places went to the old events, which take turns run after run.
    assert sorted(WebhookEvent.objects.filter(pk__in=[o.pk for o in old]).values_list(
        "attempts", flat=True)) == [1] * 8 + [2] * 4  # fmt: skip
    redrive_stuck_webhooks(older_than=NOW, limit=4)
    redrive_stuck_webhooks(older_than=NOW, limit=4)
    assert set(
        WebhookEvent.objects.filter(pk__in=[o.pk for o in old]).values_list("attempts", flat=True)
    ) == {2}


def test_a_deferred_event_is_never_dead_and_is_booked_once_its_charge_arrives(
    pending_paystack, fake_paystack, max_attempts, django_capture_on_commit_callbacks
):
    max_attempts(2)
    payment = pending_paystack()
    refund = received(
        fake_paystack,
        {
            "event": "refund.processed",
            "data": {
                "status": "processed",
                "reference": payment.reference,
                "transaction_reference": payment.reference,
                "refund_reference": "RRF_9",
                "amount": "500000",
                "currency": "NGN",
            },
        },
    )

    for _ in range(4):  # the refund arrived before its charge
        with pytest.raises(Deferred):
            process_webhook_event(event_id=refund.pk)

    assert attempts(refund) == (4, False)
    assert refund.last_error == "deferred: refund before the charge's success"
    assert refund.pk in set(redrive_queue(older_than=NOW).values_list("pk", flat=True))
    with django_capture_on_commit_callbacks(execute=True):
        received(fake_paystack, charge_success(payment.reference))
    redrive_stuck_webhooks(older_than=NOW)
    refund.refresh_from_db()
    assert (refund.processed_at is not None, refund.dead_at) == (True, None)


# --- the admin --------------------------------------------------------------------------------
LIST = "/admin/payments/webhookevent/"


def staff_client(*permissions: str) -> Client:
    from django.contrib.auth.models import Permission

    staff = StaffFactory.create()
    staff.user_permissions.set(
        Permission.objects.filter(content_type__app_label="payments", codename__in=permissions)
    )
    client = Client()
    client.force_login(staff)
    return client


@pytest.fixture
def dead_event(pending_paystack, fake_paystack, broken_booking, max_attempts):
    """A charge whose booking failed for good (dead); then the fix ships."""
    max_attempts(2)
    payment = pending_paystack()
    broken_booking.add(payment.reference)
    row = received(fake_paystack, charge_success(payment.reference))
    for _ in range(2):
        redrive_stuck_webhooks(older_than=NOW)
    assert attempts(row) == (2, True)
    broken_booking.clear()
    return row, payment


def replay(client: Client, *rows: WebhookEvent):
    return client.post(
        LIST, {"action": "replay", "_selected_action": [r.pk for r in rows]}, follow=True
    )


def test_dead_events_are_listed_and_replayed_once_from_the_admin(dead_event, fake_paystack):
    row, payment = dead_event
    ops = staff_client("view_webhookevent", "replay_webhookevent")
    other = received(fake_paystack, charge_success("ANOTHER-1"))

    listing = ops.get(LIST, {"status": "dead"})
    first = replay(ops, row)
    again = replay(ops, row)

    assert listing.status_code == 200
    assert [e.pk for e in listing.context["cl"].result_list] == [row.pk]
    assert b'value="replay"' in listing.content
    assert "1 processed (1 paid), 0 deferred, 0 failed; 0 already processed or refused" in (
        first.content.decode()
    )
    assert "0 processed (none), 0 deferred, 0 failed; 1 already processed or refused" in (
        again.content.decode()
    )
    row.refresh_from_db()
    assert (row.outcome, row.dead_at, row.attempts) == ("paid", None, 3)
    assert OrderEvent.objects.filter(order_id=payment.order_id, kind="paid").count() == 1
    assert WebhookEvent.objects.get(pk=other.pk).processed_at is None  # not selected


def test_replay_is_refused_on_post_without_the_permission(dead_event):
    row, payment = dead_event
    viewer = staff_client("view_webhookevent")

    listing = viewer.get(LIST)
    response = replay(viewer, row)

    assert b'value="replay"' not in listing.content
    assert response.status_code == 200  # the list again; the forged action was not run
    assert attempts(row) == (2, True)
    assert Order.objects.get(pk=payment.order_id).state == "pending_payment"


def test_a_replay_that_fails_again_is_reported_and_stays_dead(dead_event, broken_booking):
    row, payment = dead_event
    broken_booking.add(payment.reference)  # the fix did not fix it
    ops = staff_client("view_webhookevent", "replay_webhookevent")

    response = replay(ops, row)

    assert response.status_code == 200
    assert "0 processed (none), 0 deferred, 1 failed" in response.content.decode()
    assert attempts(row) == (3, True)


def test_replay_webhooks_dead_lists_and_replays_only_dead_events(dead_event, fake_paystack):
    from io import StringIO

    from django.core.management import call_command

    row, payment = dead_event
    received(fake_paystack, charge_success("WAITING-1"))  # unprocessed, not dead

    listed, replayed = StringIO(), StringIO()
    call_command("replay_webhooks", "--dead", "--dry-run", stdout=listed)
    call_command("replay_webhooks", "--dead", stdout=replayed)

    assert listed.getvalue() == (
        f"  {row.pk} paystack charge.success attempts=2\n"
        "1 dead event(s) of the last 1d would be replayed.\n"
    )
    assert replayed.getvalue() == (
        "1 dead event(s) of the last 1d replayed: 1 processed (1 paid), 0 deferred, 0 failed.\n"
    )
    assert Order.objects.get(pk=payment.order_id).state == "paid"
