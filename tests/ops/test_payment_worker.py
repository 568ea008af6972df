"""The payment beat tasks on a real Celery worker (re-drive, reconcile, purge), and webhook
ingestion with Redis down: the row keeps the work and the re-drive finishes it."""

import socket
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.utils import timezone

from orders.models import OrderEvent
from payments.models import Payment, WebhookEvent
from payments.services import webhooks
from payments.tasks import purge_webhook_events, reconcile_pending_payments, redrive_stuck_webhooks
from tests.fakes.paystack import FakePaystack
from tests.ops import payment_builders as build
from tests.ops.worker import broker_at, running_worker, tasks_sent_to_broker, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture(scope="module")
def paystack():
    fake = FakePaystack().start()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def worker(django_db_setup, django_db_blocker, paystack):
    env = {"PAYSTACK_BASE_URL": paystack.base_url, "PAYSTACK_SECRET_KEY": paystack.secret_key}
    with (
        django_db_blocker.unblock(),
        running_worker(pool="prefork", concurrency=2, env=env) as worker,
    ):
        yield worker


@pytest.fixture
def fake_paystack(settings, paystack, backoff_sleeps):
    settings.PAYSTACK_BASE_URL = paystack.base_url
    settings.PAYSTACK_SECRET_KEY = paystack.secret_key
    settings.PAYMENT_HTTP_READ_TIMEOUT = 2
    return paystack


def kinds(order) -> list[str]:
    return list(OrderEvent.objects.filter(order=order).values_list("kind", flat=True))


def test_payment_beat_tasks_sent_twice_at_once_do_their_work_once(
    worker, fake_paystack, monkeypatch
):
    stuck, unreported = build.paystack_payment(), build.paystack_payment(minutes_ago=60)
    monkeypatch.setattr(webhooks, "enqueue", lambda event_id: False)  # the broker was down
    stuck_row = build.stored_charge_success(fake_paystack, stuck, minutes_ago=10)
    monkeypatch.undo()
    fake_paystack.pay(unreported.reference)  # paid at the gateway, its webhook lost
    old = [build.webhook_row(days_ago=45, key=f"old-{i}") for i in range(5)]
    Payment.objects.filter(pk=unreported.pk).update(updated_at=timezone.now() - timedelta(hours=1))

    for task in (redrive_stuck_webhooks, reconcile_pending_payments, purge_webhook_events):
        worker.send(task)
        worker.send(task)

    def done() -> bool:
        return (
            set(Payment.objects.values_list("status", flat=True)) == {"succeeded"}
            and WebhookEvent.objects.filter(pk=stuck_row.pk, processed_at__isnull=False).exists()
            and not WebhookEvent.objects.filter(pk__in=[o.pk for o in old]).exists()
        )

    wait_for(done, timeout=60, what="the payment beat tasks to finish on the worker")
    assert kinds(stuck.order) == ["placed", "paid"]
    assert kinds(unreported.order) == ["placed", "paid"]
    stuck_row.refresh_from_db()
    assert (stuck_row.outcome, stuck_row.attempts) == ("paid", 1)
    assert [c.path for c in fake_paystack.calls("GET", "/transaction/verify/")] == [
        f"/transaction/verify/{unreported.reference}"
    ]


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_with_redis_down_a_webhook_is_stored_answered_200_and_re_driven_later(
    worker, fake_paystack, settings
):
    payment = build.paystack_payment()
    webhook = fake_paystack.pay(payment.reference)
    dead_redis = f"redis://127.0.0.1:{closed_port()}/0"
    settings.CACHES = {
        "default": {
            **django_settings.CACHES["default"],
            "LOCATION": dead_redis,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
    headers = {f"HTTP_{k.upper().replace('-', '_')}": v for k, v in webhook.headers.items()}
    headers.pop("HTTP_CONTENT_TYPE")

    with tasks_sent_to_broker(), broker_at(dead_redis):
        response = Client().post(
            "/api/webhooks/paystack/", webhook.body, content_type="application/json", **headers
        )

    assert response.status_code == 200
    row = WebhookEvent.objects.get(gateway="paystack", event_type="charge.success")
    assert (row.processed_at, row.signature_valid) == (None, True)
    payment.refresh_from_db()
    assert payment.order.state == "pending_payment"

    WebhookEvent.objects.filter(pk=row.pk).update(received_at=timezone.now() - timedelta(minutes=6))
    worker.send(redrive_stuck_webhooks)  # Redis is back: the beat re-drive runs

    wait_for(
        lambda: WebhookEvent.objects.filter(pk=row.pk, outcome="paid").exists(),
        what="the re-drive to process the stored webhook",
    )
    assert kinds(payment.order) == ["placed", "paid"]
