import threading
from collections.abc import Iterator
from datetime import timedelta

import pytest
from django.db import connection

from notifications import services
from notifications.delivery import SENDING_LEASE, dispatch_due
from notifications.models import Notification
from tests.factories import NotificationFactory
from tests.fakes.http_server import FakeHttpServer, termii_accepts

SMS_CONTEXT = {
    "order_number": "ORD-000123",
    "customer_name": "Ada Obi",
    "order_url": "https://shop.example.com/orders/ORD-000123",
    "amount": "45500.00",
    "currency": "NGN",
}
EXPECTED_BODY = (
    "Demo Skincare Shop: payment of NGN 45,500.00 received for order ORD-000123. Thank you!"
)


def _sms(**fields) -> Notification:
    return NotificationFactory(
        **{"channel": "sms", "recipient": "+2348031234567", "context": SMS_CONTEXT, **fields}
    )


@pytest.fixture
def termii_server(settings) -> Iterator[FakeHttpServer]:
    server = FakeHttpServer(responder=termii_accepts)
    server.start()
    settings.SMS_PROVIDER = "termii"
    settings.TERMII_BASE_URL = server.url
    settings.TERMII_API_KEY = "termii-test-key"
    settings.TERMII_SENDER_ID = "DemoShop"
    yield server
    server.stop()


@pytest.mark.django_db
def test_twilio_gets_a_form_encoded_message_with_basic_auth(twilio_server, clock):
    row = _sms()

    report = dispatch_due(clock=clock)

    assert report.sent == 1
    [request] = twilio_server.requests
    assert request.path == "/2010-04-01/Accounts/AC0123456789abcdef0123456789abcdef/Messages.json"
    assert request.headers["content-type"] == "application/x-www-form-urlencoded"
    assert request.basic_auth() == ("AC0123456789abcdef0123456789abcdef", "twilio-test-token")
    assert request.form() == {"To": "+2348031234567", "From": "+15005550006", "Body": EXPECTED_BODY}
    row.refresh_from_db()
    assert (row.status, row.provider_message_id, row.sent_at) == (
        "sent",
        "SM00000000000000000000000000000001",
        clock.now,
    )


@pytest.mark.django_db
def test_termii_gets_a_json_message_without_the_plus(termii_server, clock):
    row = _sms()

    dispatch_due(clock=clock)

    [request] = termii_server.requests
    assert request.path == "/api/sms/send"
    assert request.headers["content-type"] == "application/json"
    assert request.json() == {
        "api_key": "termii-test-key",
        "to": "2348031234567",
        "from": "DemoShop",
        "sms": EXPECTED_BODY,
        "type": "plain",
        "channel": "generic",
    }
    row.refresh_from_db()
    assert (row.status, row.provider_message_id) == ("sent", "termii-1")


@pytest.mark.django_db
def test_a_failing_sms_endpoint_leads_to_backoff_retries_then_dead(twilio_server, clock):
    twilio_server.responder = lambda request, n: (503, {"message": "Service Unavailable"})
    row = _sms(max_attempts=4)
    delays = []

    for attempt in range(1, 5):
        clock.now = row.next_attempt_at
        dispatch_due(clock=clock)
        row.refresh_from_db()
        assert row.attempts == attempt
        assert row.last_error.startswith(f"attempt {attempt}: HTTP 503: ")
        delays.append(row.next_attempt_at - clock.now)

    assert row.status == "dead"
    assert len(twilio_server.requests) == 4
    for attempt, delay in enumerate(delays[:3], start=1):
        ceiling = timedelta(minutes=2 ** (attempt - 1))
        assert ceiling / 2 <= delay <= ceiling, (attempt, delay)
    clock.advance(days=30)
    assert dispatch_due(clock=clock).claimed == 0
    assert len(twilio_server.requests) == 4


@pytest.mark.django_db
def test_an_invalid_number_answered_with_400_is_dead_at_once(twilio_server, clock):
    twilio_server.responder = lambda request, n: (
        400,
        {"code": 21211, "message": "The 'To' number +2348031234567 is not a valid phone number."},
    )
    row = _sms()

    report = dispatch_due(clock=clock)

    assert report.dead == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("dead", 1)
    assert row.last_error.startswith('attempt 1: HTTP 400: {"code": 21211')
    assert len(twilio_server.requests) == 1


@pytest.mark.django_db
def test_a_provider_that_does_not_answer_in_time_is_retried(twilio_server, clock, monkeypatch):
    monkeypatch.setattr("notifications.channels.sms.base.HTTP_TIMEOUT", (2, 0.2))

    def hang(request, n):
        twilio_server.release.wait(timeout=10)
        return 201, {"sid": "SM-late"}

    twilio_server.responder = hang
    row = _sms()

    dispatch_due(clock=clock)

    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", 1)
    assert row.last_error.startswith("attempt 1: timeout calling http://127.0.0.1:")


@pytest.mark.django_db
def test_the_token_never_appears_in_the_recorded_error(twilio_server, clock):
    twilio_server.responder = lambda request, n: (500, {"message": "oops"})
    row = _sms()
    dispatch_due(clock=clock)
    row.refresh_from_db()
    assert "twilio-test-token" not in row.last_error


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_dispatchers_send_each_sms_once(twilio_server):
    numbers = [f"+23480312345{i:02d}" for i in range(10)]
    for number in numbers:
        _sms(recipient=number)
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def dispatcher():
        try:
            barrier.wait(timeout=10)
            dispatch_due(batch_size=10)
        except BaseException as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)

    assert errors == []
    assert sorted(r.form()["To"] for r in twilio_server.requests) == numbers
    assert set(Notification.objects.values_list("status", "attempts")) == {("sent", 1)}


@pytest.mark.django_db
def test_a_row_whose_dispatcher_died_is_taken_over_only_after_its_lease(twilio_server, clock):
    row = _sms(status="sending", attempts=1, next_attempt_at=clock.now + SENDING_LEASE)

    assert dispatch_due(clock=clock).claimed == 0  # its dispatcher may still be sending

    clock.now = row.next_attempt_at
    report = dispatch_due(clock=clock)

    assert report.sent == 1
    assert len(twilio_server.requests) == 1
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("sent", 2)


@pytest.mark.django_db
def test_an_expired_lease_on_the_last_attempt_is_dead_without_resending(twilio_server, clock):
    row = _sms(status="sending", attempts=3, max_attempts=3, next_attempt_at=clock.now)

    report = dispatch_due(clock=clock)

    assert (report.claimed, report.dead) == (0, 1)
    assert twilio_server.requests == []
    row.refresh_from_db()
    assert row.status == "dead"
    assert row.last_error == "Lease expired on the last attempt; delivery outcome unknown."


@pytest.mark.django_db
def test_a_batch_that_runs_out_of_time_releases_the_rest_unsent(twilio_server, clock):
    rows = [_sms(recipient=f"+2348031234{i:03d}") for i in range(3)]

    def slow_provider(request, n):
        clock.advance(minutes=6)  # each send "takes" six minutes of the injected clock
        return 201, {"sid": f"SM{n}"}

    twilio_server.responder = slow_provider
    report = dispatch_due(clock=clock)

    assert (report.claimed, report.sent, report.released) == (3, 1, 2)
    states = [(r.status, r.attempts) for r in Notification.objects.order_by("pk")]
    assert states == [("sent", 1), ("queued", 0), ("queued", 0)]
    assert [r.form()["To"] for r in twilio_server.requests] == [rows[0].recipient]


@pytest.mark.django_db(transaction=True)
def test_a_result_from_a_dispatcher_that_lost_its_lease_is_not_recorded(twilio_server, clock):
    row = _sms()

    def taken_over_while_sending(request, n):
        # Another dispatcher re-claimed the row meanwhile (attempt 2) and is sending it.
        Notification.objects.filter(pk=row.pk).update(attempts=2)
        connection.close()
        return 201, {"sid": "SM-stale"}

    twilio_server.responder = taken_over_while_sending
    report = dispatch_due(clock=clock)

    assert (report.sent, report.lost_lease) == (0, 1)
    row.refresh_from_db()
    assert (row.status, row.attempts, row.provider_message_id) == ("sending", 2, "")


@pytest.mark.django_db
def test_retry_now_requeues_failed_and_dead_rows_only(clock):
    dead = _sms(status="dead", attempts=6, max_attempts=6, last_error="attempt 6: HTTP 503")
    failed = _sms(status="failed", attempts=2, next_attempt_at=clock.now + timedelta(hours=1))
    sent = _sms(status="sent", attempts=1, sent_at=clock.now, provider_message_id="SM1")

    count = services.retry_now(ids=[dead.pk, failed.pk, sent.pk])

    assert count == 2
    dead.refresh_from_db()
    failed.refresh_from_db()
    sent.refresh_from_db()
    assert (dead.status, dead.attempts, dead.max_attempts) == ("queued", 6, 12)
    assert (failed.status, failed.attempts, failed.max_attempts) == ("queued", 2, 8)
    assert failed.next_attempt_at <= dead.updated_at
    assert (sent.status, sent.attempts, sent.provider_message_id) == ("sent", 1, "SM1")


# --- the console provider (development) ---------------------------------------------------------
@pytest.mark.django_db
def test_the_console_provider_logs_neither_the_number_nor_the_message(settings, clock, caplog):
    settings.SMS_PROVIDER = "console"
    row = _sms()

    with caplog.at_level("INFO", logger="notifications.sms.console"):
        report = dispatch_due(clock=clock)

    assert report.sent == 1
    row.refresh_from_db()
    [record] = [r for r in caplog.records if r.name == "notifications.sms.console"]
    logged = record.getMessage() + repr(record.__dict__)
    for secret in ("2348031234567", "8031234567", "ORD-000123", "45,500.00", "Thank you"):
        assert secret not in logged
    characters = len(EXPECTED_BODY)
    assert record.getMessage() == (
        f"SMS {row.provider_message_id} not sent (console provider): {characters} characters"
    )


@pytest.mark.django_db
def test_with_sms_switched_off_no_sms_is_queued_and_an_old_one_is_dead(settings, clock):
    settings.SMS_PROVIDER = "none"
    queued_before = _sms()

    rows = services.enqueue(
        event="payment_received",
        email="ada@example.com",
        phone="+2348031234567",
        context=SMS_CONTEXT,
        dedup_key="payment_received:ORD-000123",
    )
    dispatch_due(clock=clock)

    assert [r.channel for r in rows] == ["email"]
    queued_before.refresh_from_db()
    assert (queued_before.status, queued_before.last_error) == (
        "dead",
        "attempt 1: SMS is switched off (SMS_PROVIDER=none).",
    )
