"""Payments in known states at a fake Paystack, built through the real services."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from orders.checkout import CheckoutRequest, place_order
from payments.models import Payment, WebhookEvent
from payments.services import receive_webhook, start_payment
from tests.factories import AddressFactory, ProductFactory, UserFactory
from tests.orders.helpers import fill_cart


def paystack_payment(*, minutes_ago: int = 60, product=None) -> Payment:
    """A pending Paystack payment of a 1-unit order, started ``minutes_ago``."""
    product = product or ProductFactory(stock=10, price=Decimal("2500.00"))
    customer = UserFactory()
    fill_cart(customer, [(product, 1)])
    address = AddressFactory(customer=customer)
    placed = place_order(CheckoutRequest(customer, "paystack", address_id=address.pk))
    start_payment(order_id=placed.order.pk)
    payment = Payment.objects.get(order=placed.order)
    started = timezone.now() - timedelta(minutes=minutes_ago)
    Payment.objects.filter(pk=payment.pk).update(created_at=started, updated_at=started)
    payment.refresh_from_db()
    return payment


def stored_charge_success(fake, payment: Payment, *, minutes_ago: int = 10) -> WebhookEvent:
    """The gateway's charge.success for ``payment``, verified and stored, not yet processed
    (call inside a transaction that does not commit, or with the broker down)."""
    webhook = fake.pay(payment.reference)
    received = receive_webhook(
        gateway="paystack", headers=webhook.headers, body=webhook.body, remote_addr="127.0.0.1"
    )
    [event_id] = received.stored
    WebhookEvent.objects.filter(pk=event_id).update(
        received_at=timezone.now() - timedelta(minutes=minutes_ago)
    )
    return WebhookEvent.objects.get(pk=event_id)


def webhook_row(*, gateway="paystack", event_type="charge.success", days_ago=0, processed=True,
                signature_valid=True, key=None) -> WebhookEvent:  # fmt: skip
    now = timezone.now()
    return WebhookEvent.objects.create(
        gateway=gateway,
        event_key=key or f"{event_type}:{days_ago}:{processed}:{signature_valid}:{now.timestamp()}",
        event_type=event_type,
        raw_body="{}",
        signature_valid=signature_valid,
        received_at=now - timedelta(days=days_ago),
        processed_at=now if processed else None,
        outcome="paid" if processed else "",
    )
