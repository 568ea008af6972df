"""Polling Flutterwave's chargebacks (it sends no dispute webhooks): one process, tasks eager,
the fake Flutterwave. Each chargeback state becomes one verified WebhookEvent processed by the
same code as a dispute webhook; polling again changes nothing."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from orders.checkout import CheckoutRequest, place_order
from orders.models import Order, OrderEvent
from payments.maintenance import poll_gateway_disputes
from payments.models import Dispute, Payment, WebhookEvent
from payments.services import start_payment, sync_payment_with_gateway
from tests.factories import AddressFactory, ProductFactory, UserFactory
from tests.orders.helpers import fill_cart

pytestmark = pytest.mark.django_db


@pytest.fixture
def paid_payment(fake_flutterwave) -> Payment:
    """A Flutterwave payment of 2 x 2500.00 NGN, paid and applied through verify."""
    product = ProductFactory(stock=10, price=Decimal("2500.00"), currency="NGN")
    customer = UserFactory()
    fill_cart(customer, [(product, 2)])
    address = AddressFactory(customer=customer)
    placed = place_order(CheckoutRequest(customer, "flutterwave", address_id=address.pk))
    start_payment(order_id=placed.order.pk)
    payment = Payment.objects.get(order=placed.order)
    fake_flutterwave.pay(payment.reference)
    payment = sync_payment_with_gateway(payment_id=payment.pk)
    assert payment.order.state == "paid"
    return payment


@pytest.fixture
def poll(django_capture_on_commit_callbacks):
    def run(**kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return poll_gateway_disputes(**kwargs)

    return run


def _state(payment: Payment) -> str:
    return Order.objects.values_list("state", flat=True).get(pk=payment.order_id)


def test_an_opened_chargeback_disputes_the_order_once(fake_flutterwave, paid_payment, poll):
    chargeback_id = fake_flutterwave.open_chargeback(paid_payment.reference)

    first = poll()
    second = poll()

    assert (first.polled, first.seen, first.queued, first.already_known) == (
        ["flutterwave"], 1, 1, 0,
    )  # fmt: skip
    assert (second.seen, second.queued, second.already_known) == (1, 0, 1)
    assert _state(paid_payment) == "disputed"
    dispute = Dispute.objects.get()
    assert (dispute.gateway, dispute.gateway_dispute_id) == ("flutterwave", str(chargeback_id))
    assert (dispute.status, dispute.amount, dispute.currency) == ("open", Decimal("5000.00"), "NGN")
    assert dispute.reason == "Product/service not received"
    assert dispute.evidence_due_at is not None
    assert dispute.payment_id == paid_payment.pk
    row = WebhookEvent.objects.get(event_type="chargeback.initiated")
    assert (row.gateway, row.signature_valid, row.outcome) == ("flutterwave", True, "disputed")
    assert row.event_key == f"chargeback:{chargeback_id}:initiated"
    assert row.payment_id == paid_payment.pk
    assert (
        OrderEvent.objects.filter(order_id=paid_payment.order_id, kind="dispute_opened").count()
        == 1
    )


@pytest.mark.parametrize(
    ("resolution", "state", "dispute_status", "outcome"),
    [
        ("won", "paid", "won", "dispute_won"),
        ("lost", "refunded", "lost", "dispute_lost"),
        ("accepted", "refunded", "lost", "dispute_lost"),
    ],
)
def test_a_resolved_chargeback_resolves_the_dispute(
    fake_flutterwave, paid_payment, poll, resolution, state, dispute_status, outcome
):
    chargeback_id = fake_flutterwave.open_chargeback(paid_payment.reference)
    poll()
    fake_flutterwave.set_chargeback_status(chargeback_id, "declined")  # contested: still open
    poll()
    assert _state(paid_payment) == "disputed"

    fake_flutterwave.set_chargeback_status(chargeback_id, resolution)
    report = poll()
    poll()

    assert report.queued == 1
    assert _state(paid_payment) == state
    assert Dispute.objects.get().status == dispute_status
    rows = WebhookEvent.objects.order_by("pk")
    assert [(r.event_type, r.outcome) for r in rows] == [
        ("chargeback.initiated", "disputed"),
        ("chargeback.declined", "already_recorded"),
        (f"chargeback.{resolution}", outcome),
    ]


def test_a_chargeback_first_seen_resolved_opens_and_resolves(fake_flutterwave, paid_payment, poll):
    chargeback_id = fake_flutterwave.open_chargeback(paid_payment.reference)
    fake_flutterwave.resolve_chargeback(chargeback_id, won=False)

    poll()

    assert _state(paid_payment) == "refunded"
    assert Dispute.objects.get().status == "lost"


def test_an_open_dispute_older_than_the_lookback_is_still_followed(
    fake_flutterwave, paid_payment, poll
):
    chargeback_id = fake_flutterwave.open_chargeback(paid_payment.reference, created_days_ago=20)
    poll(lookback=timedelta(days=30))
    Dispute.objects.update(opened_at=timezone.now() - timedelta(days=20))
    fake_flutterwave.resolve_chargeback(chargeback_id, won=True)
    fake_flutterwave.requests.clear()

    poll(lookback=timedelta(days=7))

    [call, *_] = fake_flutterwave.calls("GET", "/v3/chargebacks")
    expected_from = (timezone.now() - timedelta(days=20)).date().isoformat()
    assert call.query["from"] == [expected_from]
    assert _state(paid_payment) == "paid"
    assert Dispute.objects.get().status == "won"


def test_a_gateway_that_cannot_be_asked_changes_nothing(fake_flutterwave, paid_payment, poll):
    fake_flutterwave.open_chargeback(paid_payment.reference)
    fake_flutterwave.fail_next(3, status=503, path_contains="/v3/chargebacks")

    report = poll()

    assert (report.polled, report.errors, report.queued) == ([], ["flutterwave"], 0)
    assert not WebhookEvent.objects.filter(event_type__startswith="chargeback.").exists()
    assert _state(paid_payment) == "paid"


def test_nothing_is_polled_when_flutterwave_is_not_configured(settings, poll):
    settings.FLUTTERWAVE_SECRET_KEY = ""

    report = poll()

    assert report.as_dict() == {
        "polled": [], "seen": 0, "queued": 0, "already_known": 0, "errors": [],
    }  # fmt: skip


def test_poll_disputes_command_prints_counts_and_can_process_now(fake_flutterwave, paid_payment):
    # The test's transaction never commits, so only --process-now applies the event here.
    fake_flutterwave.open_chargeback(paid_payment.reference)
    out = StringIO()

    call_command("poll_disputes", "--process-now", stdout=out)

    assert out.getvalue().splitlines() == [
        "Polled flutterwave (chargebacks since 7d ago or the oldest open dispute): "
        "1 state(s) listed, 1 new and queued, 0 already known.",
        "Processed 1: 1 disputed; 0 deferred, 0 failed.",
    ]
    assert _state(paid_payment) == "disputed"


def test_poll_disputes_command_exits_1_when_the_gateway_is_down(fake_flutterwave, paid_payment):
    fake_flutterwave.fail_next(3, status=503, path_contains="/v3/chargebacks")

    with pytest.raises(CommandError, match="Could not ask flutterwave"):
        call_command("poll_disputes", stdout=StringIO())


def test_the_help_says_what_the_command_changes(capsys):
    with pytest.raises(SystemExit):
        call_command("poll_disputes", "--help")
    assert "CHANGES: each chargeback state not seen before" in " ".join(
        capsys.readouterr().out.split()
    )
