import threading
from datetime import timedelta

import pytest
from django.db import connection

from notifications.delivery import dispatch_due
from notifications.models import Notification
from tests.factories import NotificationFactory


def _state(row: Notification) -> tuple:
    row.refresh_from_db()
    return row.status, row.attempts


@pytest.mark.django_db
def test_an_accepting_smtp_server_gets_the_message_and_the_row_is_sent(smtp_server, clock):
    row = NotificationFactory(recipient="ada@example.com")

    report = dispatch_due(clock=clock)

    assert (report.claimed, report.sent, report.failed, report.dead) == (1, 1, 0, 0)
    [message] = smtp_server.received
    assert message["To"] == "ada@example.com"
    assert message["From"] == "Demo Skincare Shop <support@example.com>"
    assert message["Reply-To"] == "support@example.com"
    assert message["Subject"] == "Payment received for order ORD-000123"
    plain = message.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert plain.startswith("Hello Ada Obi,\n\nWe received your payment of NGN 45,500.00 for")
    assert "<strong>NGN 45,500.00</strong>" in message.get_body(("html",)).get_content()
    row.refresh_from_db()
    assert (row.status, row.attempts, row.sent_at, row.last_error) == ("sent", 1, clock.now, "")
    assert row.provider_message_id == message["Message-ID"]


@pytest.mark.django_db
def test_a_sent_row_is_never_sent_again(smtp_server, clock):
    NotificationFactory()
    dispatch_due(clock=clock)
    clock.advance(days=2)

    report = dispatch_due(clock=clock)

    assert report.claimed == 0
    assert len(smtp_server.received) == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    "refusal", ["451 4.3.0 Mailbox busy, try later", "554 5.3.0 Transaction failed"]
)
def test_a_refusing_smtp_server_leads_to_backoff_retries_then_dead(smtp_server, clock, refusal):
    smtp_server.refuse_data = refusal
    row = NotificationFactory(max_attempts=3)

    dispatch_due(clock=clock)
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", 1)
    assert refusal in row.last_error
    assert clock.now + timedelta(seconds=30) <= row.next_attempt_at
    assert row.next_attempt_at <= clock.now + timedelta(seconds=60)

    clock.now = row.next_attempt_at - timedelta(seconds=1)
    assert dispatch_due(clock=clock).claimed == 0  # not due yet: the backoff holds

    clock.now = row.next_attempt_at
    dispatch_due(clock=clock)
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("failed", 2)
    assert clock.now + timedelta(seconds=60) <= row.next_attempt_at
    assert row.next_attempt_at <= clock.now + timedelta(seconds=120)

    clock.now = row.next_attempt_at
    report = dispatch_due(clock=clock)
    assert report.dead == 1
    row.refresh_from_db()
    assert (row.status, row.attempts, row.needs_attention) == ("dead", 3, True)
    assert row.last_error.startswith("attempt 3: SMTP ")

    clock.advance(days=30)
    assert dispatch_due(clock=clock).claimed == 0
    assert smtp_server.attempts == 3
    assert smtp_server.received == []


@pytest.mark.django_db
def test_a_refused_mailbox_is_dead_at_once(smtp_server, clock):
    smtp_server.refuse_rcpt = "550 5.1.1 No such user"
    row = NotificationFactory(recipient="nobody@example.com")

    report = dispatch_due(clock=clock)

    assert (report.failed, report.dead) == (0, 1)
    row.refresh_from_db()
    assert (row.status, row.attempts) == ("dead", 1)
    assert row.last_error == "attempt 1: recipient refused: 550 5.1.1 No such user"


@pytest.mark.django_db
def test_an_unreachable_smtp_server_is_a_transient_failure(settings, clock):
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_USE_TLS = "127.0.0.1", 1, False
    row = NotificationFactory()

    dispatch_due(clock=clock)

    assert _state(row) == ("failed", 1)
    assert row.last_error.startswith("attempt 1: SMTP unavailable: ")


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_dispatchers_send_each_message_once(smtp_server):
    rows = NotificationFactory.create_batch(12)
    barrier = threading.Barrier(2)
    reports = []
    errors: list[BaseException] = []

    def dispatcher():
        try:
            barrier.wait(timeout=10)
            reports.append(dispatch_due(batch_size=12))
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
    assert sorted(m["To"] for m in smtp_server.received) == sorted(r.recipient for r in rows)
    assert sum(r.sent for r in reports) == 12
    assert sum(r.claimed for r in reports) == 12
    assert set(Notification.objects.values_list("status", "attempts")) == {("sent", 1)}
