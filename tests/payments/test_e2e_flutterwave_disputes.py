"""Flutterwave disputes end to end: it sends no dispute webhook, so the beat task (run by the
real worker) asks the fake's GET /v3/chargebacks and the worker applies what it learns."""

from __future__ import annotations

from decimal import Decimal

import pytest

from orders.models import Order
from payments import maintenance
from payments.errors import RefundHeldByDispute
from payments.models import Dispute, Payment, Refund, WebhookEvent
from payments.services import issue_refund
from payments.tasks import poll_gateway_disputes
from tests.conftest import client_for
from tests.payments.helpers import order_state, place_order, wait_for

pytestmark = pytest.mark.django_db(transaction=True)


def _wait_state(order_id: int, state: str) -> None:
    wait_for(lambda: order_state(order_id) == state, what=f"order {order_id} → {state}")


@pytest.mark.parametrize("won", [True, False], ids=["won", "lost"])
def test_flutterwave_chargeback_polled_disputes_then_resolves_the_order(e2e, customer, won):
    fake = e2e.flutterwave
    with fake.lock:
        fake.chargebacks.clear()  # the fake lives for the module
    response, _product = place_order(client_for(customer), customer, method="flutterwave")
    assert response.status_code == 201, response.content
    order_id = response.json()["id"]
    payment = Payment.objects.get(order_id=order_id)
    fake.pay(payment.reference)
    _wait_state(order_id, "paid")

    chargeback_id = fake.open_chargeback(payment.reference)
    poll_gateway_disputes.delay()

    _wait_state(order_id, "disputed")
    dispute = Dispute.objects.get(gateway="flutterwave")
    assert dispute.gateway_dispute_id == str(chargeback_id)
    assert (dispute.status, dispute.amount, dispute.currency) == ("open", Decimal("5000.00"), "NGN")
    assert dispute.payment_id == payment.pk
    with pytest.raises(RefundHeldByDispute):
        issue_refund(
            order_id=order_id, amount=None, lines=None, restock=False, reason="", actor=None
        )
    assert not Refund.objects.filter(payment__order_id=order_id).exists()

    # The same state again, polled here (synchronously, so no poll is left running after the
    # test): already known, nothing queued.
    again = maintenance.poll_gateway_disputes()
    assert (again.seen, again.queued, again.already_known) == (1, 0, 1)
    fake.resolve_chargeback(chargeback_id, won=won)
    poll_gateway_disputes.delay()

    _wait_state(order_id, "paid" if won else "refunded")
    assert Dispute.objects.get(pk=dispute.pk).status == ("won" if won else "lost")
    assert Order.objects.get(pk=order_id).payment_status == ("paid" if won else "refunded")
    resolution = "won" if won else "lost"
    rows = wait_for(
        lambda: (
            WebhookEvent.objects.filter(
                event_type__startswith="chargeback.", processed_at__isnull=False
            ).count()
            == 2
            and list(WebhookEvent.objects.filter(event_type__startswith="chargeback."))
        ),
        what="both chargeback states processed",
    )
    assert sorted((r.event_key, r.outcome, r.payment_id) for r in rows) == sorted(
        [
            (f"chargeback:{chargeback_id}:initiated", "disputed", payment.pk),
            (f"chargeback:{chargeback_id}:{resolution}", f"dispute_{resolution}", payment.pk),
        ]
    )
