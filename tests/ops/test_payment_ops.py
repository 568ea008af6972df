"""Reconciliation, verify, replay and purge of webhook events, and the payment figures of
shop_report: against a fake Paystack (a real HTTP server) and real PostgreSQL."""

import json
from collections import Counter
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from orders.models import OrderEvent
from payments import maintenance
from payments.models import Payment, WebhookEvent
from tests.ops import payment_builders as build
from tests.orders.test_checkout_concurrency import run_at_once


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def kinds(order) -> list[str]:
    return list(OrderEvent.objects.filter(order=order).values_list("kind", flat=True))


def verify_calls(fake) -> list[str]:
    return [c.path for c in fake.calls("GET", "/transaction/verify/")]


@pytest.mark.django_db(transaction=True)
def test_two_reconcilers_at_once_verify_each_due_payment_once_and_apply_the_answer(fake_paystack):
    paid, declined, ongoing = (build.paystack_payment(minutes_ago=60) for _ in range(3))
    recent = build.paystack_payment(minutes_ago=2)
    fake_paystack.pay(paid.reference)  # the webhook never arrived (no target)
    fake_paystack.decline(declined.reference)
    fake_paystack.set_status(ongoing.reference, "ongoing")

    reports = run_at_once(
        [
            lambda: maintenance.reconcile_pending_payments(older_than=timedelta(minutes=15))
            for _ in range(2)
        ]
    )

    assert sum(r.checked for r in reports) == 3
    assert sum((r.statuses for r in reports), Counter()) == {
        "succeeded": 1,
        "failed": 1,
        "pending": 1,
    }
    assert sorted(verify_calls(fake_paystack)) == sorted(
        f"/transaction/verify/{p.reference}" for p in (paid, declined, ongoing)
    )
    states = {p.pk: (p.status, p.order.state) for p in Payment.objects.select_related("order")}
    assert states == {
        paid.pk: ("succeeded", "paid"),
        declined.pk: ("failed", "payment_failed"),
        ongoing.pk: ("pending", "pending_payment"),
        recent.pk: ("pending", "pending_payment"),
    }
    assert kinds(paid.order) == ["placed", "paid"]
    # checked just now: not asked again before another interval has passed
    again = maintenance.reconcile_pending_payments(older_than=timedelta(minutes=15))
    assert (again.checked, len(verify_calls(fake_paystack))) == (0, 3)


@pytest.mark.django_db
def test_reconcile_command_reports_and_exits_non_zero_when_the_gateway_is_down(fake_paystack):
    payment = build.paystack_payment(minutes_ago=60)
    fake_paystack.pay(payment.reference)

    assert run("reconcile_payments", "--dry-run").endswith(
        "1 payment(s) pending longer than 15m would be verified.\n"
    )
    fake_paystack.fail_next(3, status=503)
    with pytest.raises(CommandError, match="1 payment"):
        call_command("reconcile_payments", stdout=StringIO())
    payment.refresh_from_db()
    assert (payment.status, payment.order.state) == ("pending", "pending_payment")

    Payment.objects.filter(pk=payment.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    assert run("reconcile_payments") == (
        "1 payment(s) pending longer than 15m verified: 1 succeeded; 0 gateway error(s); "
        "0 taken by another run.\n"
    )


@pytest.mark.django_db
def test_verify_payment_applies_the_gateways_answer(fake_paystack):
    payment = build.paystack_payment()
    fake_paystack.pay(payment.reference)

    out = run("verify_payment", payment.reference)

    assert out == (
        f"{payment.reference} (paystack): payment succeeded, order {payment.order.number} paid "
        "(was pending, order pending_payment).\n"
    )
    assert run("verify_payment", payment.reference).endswith("paid (unchanged).\n")
    assert kinds(payment.order) == ["placed", "paid"]


@pytest.mark.django_db
def test_verify_payment_refuses_unknown_references_and_gateway_outages(fake_paystack):
    payment = build.paystack_payment()
    with pytest.raises(CommandError, match="No payment with reference 'nope'"):
        call_command("verify_payment", "nope")
    fake_paystack.fail_next(3, status=503)
    with pytest.raises(CommandError, match="paystack could not verify"):
        call_command("verify_payment", payment.reference)
    payment.refresh_from_db()
    assert payment.status == "pending"


@pytest.mark.django_db
def test_replay_webhook_processes_a_stored_event_once(fake_paystack):
    payment = build.paystack_payment()
    row = build.stored_charge_success(fake_paystack, payment)  # on_commit never runs here

    assert run("replay_webhook", str(row.pk)) == (
        f"Event {row.pk} paystack charge.success ({row.event_key}) processed: paid.\n"
    )
    assert run("replay_webhook", str(row.pk)) == (
        f"Event {row.pk} paystack charge.success ({row.event_key}) was already processed: "
        "paid. Nothing done.\n"
    )
    assert kinds(payment.order) == ["placed", "paid"]


@pytest.mark.django_db
def test_replay_webhook_refuses_unknown_and_refused_events():
    refused = build.webhook_row(signature_valid=False, processed=False)
    with pytest.raises(CommandError, match="No webhook event 999999"):
        call_command("replay_webhook", "999999")
    with pytest.raises(CommandError, match="refused \\(bad signature\\): never processed"):
        call_command("replay_webhook", str(refused.pk))
    refused.refresh_from_db()
    assert (refused.processed_at, refused.attempts) == (None, 0)


@pytest.mark.django_db
def test_replay_webhooks_failed_since_takes_only_failed_events_of_the_window(fake_paystack):
    failed, fresh, old = (build.paystack_payment() for _ in range(3))
    failed_row = build.stored_charge_success(fake_paystack, failed)
    build.stored_charge_success(fake_paystack, fresh)
    old_row = build.stored_charge_success(fake_paystack, old)
    WebhookEvent.objects.filter(pk__in=[failed_row.pk, old_row.pk]).update(
        attempts=1, last_error="GatewayUnavailable: timeout"
    )
    WebhookEvent.objects.filter(pk=old_row.pk).update(
        received_at=timezone.now() - timedelta(days=3)
    )

    assert run("replay_webhooks", "--failed", "--since", "24h", "--dry-run").endswith(
        "1 failed event(s) of the last 1d would be replayed.\n"
    )
    assert run("replay_webhooks", "--failed", "--since", "24h") == (
        "1 failed event(s) of the last 1d replayed: 1 processed (1 paid), 0 deferred, 0 failed.\n"
    )
    states = dict(Payment.objects.values_list("pk", "order__state"))
    assert states == {failed.pk: "paid", fresh.pk: "pending_payment", old.pk: "pending_payment"}
    assert run("replay_webhooks", "--since", "2d") == (
        "1 unprocessed event(s) of the last 2d replayed: 1 processed (1 paid), 0 deferred, "
        "0 failed.\n"
    )
    assert Payment.objects.get(pk=fresh.pk).order.state == "paid"


@pytest.mark.django_db(transaction=True)
def test_two_webhook_purges_at_once_delete_each_old_processed_event_once():
    old = [build.webhook_row(days_ago=40, key=f"old-{i}") for i in range(30)]
    kept = [
        build.webhook_row(days_ago=5, key="recent"),
        build.webhook_row(days_ago=40, processed=False, key="stuck"),
        build.webhook_row(days_ago=40, signature_valid=False, processed=False, key="refused"),
    ]

    counts = run_at_once(
        [
            lambda: maintenance.purge_processed_webhook_events(
                older_than=timedelta(days=30), batch_size=7
            )
            for _ in range(2)
        ]
    )

    assert sum(counts) == len(old) == 30
    assert set(WebhookEvent.objects.values_list("pk", flat=True)) == {k.pk for k in kept}


@pytest.mark.django_db
def test_purge_webhook_events_command_defaults_to_the_setting_and_dry_runs():
    build.webhook_row(days_ago=31, key="a")
    build.webhook_row(days_ago=29, key="b")

    assert run("purge_webhook_events", "--dry-run") == (
        "1 processed webhook event(s) older than 30d would be deleted.\n"
        "0 refused webhook event(s) older than 7d would be deleted.\n"
    )
    assert WebhookEvent.objects.count() == 2
    assert run("purge_webhook_events", "--older-than", "20d") == (
        "2 processed webhook event(s) older than 20d deleted.\n"
        "0 refused webhook event(s) older than 7d deleted.\n"
    )


@pytest.mark.django_db
def test_shop_report_gives_the_payment_success_rate_and_webhook_counts(fake_paystack):
    payments = [build.paystack_payment(minutes_ago=30) for _ in range(5)]
    now = timezone.now()
    for payment, status in zip(
        payments, ["succeeded", "succeeded", "succeeded", "failed", "pending"], strict=True
    ):
        Payment.objects.filter(pk=payment.pk).update(status=status)
    old = build.paystack_payment(minutes_ago=60 * 30)
    Payment.objects.filter(pk=old.pk).update(status="failed")
    build.webhook_row(key="w1")
    build.webhook_row(key="w2")
    build.webhook_row(key="w3", processed=False)
    build.webhook_row(key="w4", event_type="", signature_valid=False, processed=False)
    build.webhook_row(key="w5", gateway="stripe", event_type="payment_intent.succeeded")
    build.webhook_row(key="w6", days_ago=2)

    report = json.loads(run("shop_report", "--json"))

    assert report["payments_last_24h"] == {
        "success_rate": 0.75,
        "succeeded": 3,
        "settled": 4,
        "by_status": {"failed": 1, "pending": 1, "succeeded": 3},
    }
    assert report["webhook_events_last_24h"] == [
        {
            "gateway": "paystack",
            "event_type": "(refused: bad signature)",
            "signature_valid": False,
            "processed": 0,
            "unprocessed": 1,
        },
        {
            "gateway": "paystack",
            "event_type": "charge.success",
            "signature_valid": True,
            "processed": 2,
            "unprocessed": 1,
        },
        {
            "gateway": "stripe",
            "event_type": "payment_intent.succeeded",
            "signature_valid": True,
            "processed": 1,
            "unprocessed": 0,
        },
    ]
    assert report["orders_pending_payment_last_hour"] == 6  # orders are all new
    assert now.isoformat()[:10] == report["generated_at"][:10]
    text = run("shop_report")
    assert "Payment success rate, last 24 h: 75.0% (3 of 4 settled)\n" in text


def test_payment_tasks_are_routed_to_the_money_queue_in_production_settings():
    from celery.app.routes import Router, prepare

    from config import settings as production
    from config.celery import app
    from payments.tasks import process_webhook_event, reconcile_pending_payments

    router = Router(
        prepare(production.CELERY_TASK_ROUTES), app.amqp.queues, create_missing=True, app=app
    )
    for task in (process_webhook_event, reconcile_pending_payments):
        assert router.route({}, task.name)["queue"].name == "money"
    assert router.route({}, "inventory.sweep_expired_locks")["queue"].name == "celery"
