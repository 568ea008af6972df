import threading
import time
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection, transaction
from kombu.exceptions import OperationalError

from config.celery import app as celery_app
from notifications import services
from notifications.events import site_link
from notifications.exceptions import (
    InvalidRecipient,
    NotificationContextInvalid,
    UnknownNotificationEvent,
)
from notifications.models import Notification
from notifications.tasks import dispatch_notifications
from tests.notifications.samples import SAMPLE_CONTEXTS

PLACED = SAMPLE_CONTEXTS["order_placed"]


def _enqueue_placed(**overrides):
    arguments = {
        "event": "order_placed",
        "email": "ada@example.com",
        "phone": "0803 123 4567",
        "context": PLACED,
        "dedup_key": "order_placed:ORD-000123",
    }
    return services.enqueue(**{**arguments, **overrides})


def _rows():
    return list(
        Notification.objects.order_by("channel").values_list(
            "channel", "recipient", "template", "dedup_key", "status", "attempts"
        )
    )


EXPECTED_PLACED_ROWS = [
    ("email", "ada@example.com", "order_placed", "order_placed:ORD-000123:email", "queued", 0),
    ("sms", "+2348031234567", "order_placed", "order_placed:ORD-000123:sms", "queued", 0),
]


@pytest.mark.django_db
def test_an_event_queues_one_email_and_one_sms_with_a_normalised_phone():
    rows = _enqueue_placed()

    assert [(n.channel, n.recipient) for n in rows] == [
        ("email", "ada@example.com"),
        ("sms", "+2348031234567"),
    ]
    assert _rows() == EXPECTED_PLACED_ROWS
    assert rows[0].context == PLACED
    assert rows[0].max_attempts == 6


@pytest.mark.django_db
def test_decimal_amounts_are_stored_as_decimal_strings():
    context = {**SAMPLE_CONTEXTS["refund_issued"], "amount": Decimal("12500.00")}
    [row] = services.enqueue(
        event="refund_issued", email="ada@example.com", phone=None, context=context,
        dedup_key="refund_issued:RF-1",
    )  # fmt: skip
    row.refresh_from_db()
    assert row.context["amount"] == "12500.00"


@pytest.mark.django_db
def test_enqueueing_the_same_event_twice_notifies_once():
    first = _enqueue_placed()
    second = _enqueue_placed()

    assert [n.pk for n in second] == [n.pk for n in first]
    assert _rows() == EXPECTED_PLACED_ROWS


@pytest.mark.django_db(transaction=True)
def test_a_rolled_back_transaction_leaves_no_notification():
    def checkout():
        with transaction.atomic():
            _enqueue_placed()
            raise RuntimeError("checkout failed after queueing its notification")

    with pytest.raises(RuntimeError):
        checkout()

    assert Notification.objects.count() == 0


@pytest.mark.django_db(transaction=True)
def test_a_retried_service_notifies_once():
    def place_order(fail: bool):
        with transaction.atomic():
            _enqueue_placed()
            if fail:
                raise RuntimeError("deadlock detected; the caller retries")

    with pytest.raises(RuntimeError):
        place_order(fail=True)
    place_order(fail=False)
    place_order(fail=False)  # e.g. the same webhook delivered again

    assert _rows() == [(*row[:4], "sent", 1) for row in EXPECTED_PLACED_ROWS]
    assert len(mail.outbox) == 1


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_transactions_with_the_same_key_insert_once(settings):
    settings.CELERY_TASK_ALWAYS_EAGER = True
    barrier = threading.Barrier(2)
    results: list[list[int]] = []
    errors: list[BaseException] = []

    def run():
        try:
            with transaction.atomic():
                barrier.wait(timeout=10)
                results.append([n.pk for n in _enqueue_placed()])
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    assert errors == []
    assert len(results) == 2
    assert Notification.objects.count() == 2
    assert len(mail.outbox) == 1


@pytest.mark.django_db
def test_sms_is_skipped_when_the_customer_opted_out():
    rows = _enqueue_placed(sms_allowed=False)
    assert [n.channel for n in rows] == ["email"]
    assert Notification.objects.count() == 1


@pytest.mark.django_db
def test_events_without_an_sms_body_send_email_only():
    rows = services.enqueue(
        event="order_delivered", email="ada@example.com", phone="+2348031234567",
        context=SAMPLE_CONTEXTS["order_delivered"], dedup_key="order_delivered:ORD-000123",
    )  # fmt: skip
    assert [(n.channel, n.dedup_key) for n in rows] == [
        ("email", "order_delivered:ORD-000123:email")
    ]


@pytest.mark.django_db
def test_a_customer_without_email_gets_the_sms_only():
    rows = _enqueue_placed(email=None)
    assert [(n.channel, n.recipient) for n in rows] == [("sms", "+2348031234567")]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"phone": "0803 12"}, "'0803 12' is not a valid phone number."),
        ({"email": "ada@"}, "'ada@' is not a valid email address."),
        (
            {"email": None, "phone": None},
            "A notification needs an email address or a phone number.",
        ),
    ],
)
def test_invalid_recipients_are_refused_and_nothing_is_queued(overrides, message):
    with pytest.raises(InvalidRecipient) as excinfo:
        _enqueue_placed(**overrides)

    assert excinfo.value.code == "invalid_recipient"
    assert excinfo.value.message == message
    assert Notification.objects.count() == 0


@pytest.mark.django_db
def test_an_opted_out_customer_with_a_bad_phone_still_gets_the_email():
    rows = _enqueue_placed(phone="not a phone", sms_allowed=False)
    assert [n.channel for n in rows] == ["email"]


@pytest.mark.django_db
def test_missing_context_keys_are_refused_with_their_names():
    context = {k: v for k, v in PLACED.items() if k not in {"total", "order_url"}}
    with pytest.raises(NotificationContextInvalid) as excinfo:
        _enqueue_placed(context=context)

    assert excinfo.value.code == "notification_context_invalid"
    assert excinfo.value.details == {"event": "order_placed", "missing": ["order_url", "total"]}
    assert Notification.objects.count() == 0


@pytest.mark.django_db
def test_a_context_that_is_not_json_is_refused():
    with pytest.raises(NotificationContextInvalid):
        _enqueue_placed(context={**PLACED, "placed_by": object()})
    assert Notification.objects.count() == 0


@pytest.mark.django_db
@pytest.mark.parametrize("event", ["order_teleported", "dispute_opened"])
def test_unknown_and_staff_events_are_refused_for_customers(event):
    with pytest.raises(UnknownNotificationEvent):
        _enqueue_placed(event=event)
    assert Notification.objects.count() == 0


@pytest.mark.django_db
def test_staff_alerts_email_every_configured_address_once(settings):
    settings.SHOP_STAFF_ALERT_EMAILS = ["ops@example.com", "owner@example.com"]
    context = SAMPLE_CONTEXTS["dispute_opened"]

    services.staff_alert("dispute_opened", context, "dispute_opened:DP-1")
    services.staff_alert("dispute_opened", context, "dispute_opened:DP-1")

    assert list(
        Notification.objects.order_by("recipient").values_list("channel", "recipient", "dedup_key")
    ) == [
        ("email", "ops@example.com", "dispute_opened:DP-1:email:ops@example.com"),
        ("email", "owner@example.com", "dispute_opened:DP-1:email:owner@example.com"),
    ]


@pytest.mark.django_db
def test_staff_alerts_without_addresses_are_logged_and_dropped(settings, caplog):
    settings.SHOP_STAFF_ALERT_EMAILS = []
    assert (
        services.staff_alert(
            "order_needs_attention", SAMPLE_CONTEXTS["order_needs_attention"], "attention:ORD-1"
        )
        == []
    )
    assert Notification.objects.count() == 0
    assert "SHOP_STAFF_ALERT_EMAILS is empty" in caplog.text


@pytest.mark.django_db
def test_dispatch_runs_after_commit_and_sends_the_email(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        _enqueue_placed(phone=None)

    assert len(callbacks) == 1
    [message] = mail.outbox
    assert message.to == ["ada@example.com"]
    assert message.subject == "We received your order ORD-000123"
    row = Notification.objects.get()
    assert (row.status, row.attempts) == ("sent", 1)
    assert row.provider_message_id == message.extra_headers["Message-ID"]


@pytest.mark.django_db
def test_a_broker_outage_never_breaks_the_caller(
    monkeypatch, caplog, django_capture_on_commit_callbacks, with_a_broker
):
    def broker_down(*args, **kwargs):
        raise OperationalError("Error 111 connecting to 127.0.0.1:6379. Connection refused.")

    services.WAKE_UP.run_now()  # nothing from earlier tests in flight
    services.claim_dispatch()
    monkeypatch.setattr(dispatch_notifications, "delay", broker_down)
    with django_capture_on_commit_callbacks(execute=True):
        _enqueue_placed()
    services.WAKE_UP.run_now()  # the background wake-up, now rather than in 50 ms

    assert _rows() == EXPECTED_PLACED_ROWS  # queued, for the periodic sweep
    assert "could not schedule notification dispatch" in caplog.text


@pytest.mark.django_db
def test_an_overlong_dedup_key_is_refused_before_touching_the_database():
    with pytest.raises(NotificationContextInvalid) as excinfo:
        _enqueue_placed(dedup_key="order_placed:" + "9" * 250)
    assert excinfo.value.message == "A notification dedup key is longer than 255 characters."
    assert Notification.objects.count() == 0


def test_site_links_are_absolute_urls_on_the_configured_site(settings):
    settings.SITE_URL = "https://shop.example.com"
    assert site_link("/orders/ORD-1/pay") == "https://shop.example.com/orders/ORD-1/pay"
    assert site_link("orders/ORD-1") == "https://shop.example.com/orders/ORD-1"


@pytest.mark.django_db(transaction=True)
def test_wake_ups_are_coalesced_while_a_dispatch_is_queued(monkeypatch, with_a_broker):
    """A rush of order events publishes one dispatch task, not one per event."""
    from notifications import tasks

    services.WAKE_UP.run_now()  # nothing from earlier tests in flight
    published = []
    monkeypatch.setattr(tasks.dispatch_notifications, "delay", lambda: published.append(1))
    services.claim_dispatch()

    for n in range(5):
        _enqueue_placed(dedup_key=f"order_placed:ORD-{n}")
    _wait_for(lambda: len(published) == 1)  # sent by the background thread, once for all
    for _ in range(3):
        services.publish_wake_up()  # the task has not started: the marker holds them back
    assert len(published) == 1

    services.claim_dispatch()  # what the task does before claiming rows
    _enqueue_placed(dedup_key="order_placed:ORD-9")
    _wait_for(lambda: len(published) == 2)  # a row committed after the claim wakes again


@pytest.mark.django_db(transaction=True)
def test_a_failed_wake_up_does_not_silence_the_next_one(monkeypatch, with_a_broker):
    from notifications import tasks

    services.WAKE_UP.run_now()  # nothing from earlier tests in flight
    calls = []

    def broker_down():
        calls.append(1)
        raise ConnectionError("broker unreachable")

    monkeypatch.setattr(tasks.dispatch_notifications, "delay", broker_down)
    services.claim_dispatch()
    _enqueue_placed(dedup_key="order_placed:ORD-1")
    services.WAKE_UP.run_now()
    _enqueue_placed(dedup_key="order_placed:ORD-2")
    services.WAKE_UP.run_now()
    assert len(calls) == 2
    assert Notification.objects.filter(status="queued").count() == 4  # kept for the sweep


@pytest.fixture
def with_a_broker():
    """Tasks published, not run inline (the suite runs them eagerly): the wake-up then goes
    through its background thread, as in production."""
    previous = celery_app.conf.task_always_eager
    celery_app.conf.task_always_eager = False
    yield
    services.WAKE_UP.run_now()
    celery_app.conf.task_always_eager = previous
    services.claim_dispatch()  # no task will run to clear the marker


def _wait_for(condition, seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, "the background wake-up never came"
        time.sleep(0.01)  # polling a background thread, with a deadline
