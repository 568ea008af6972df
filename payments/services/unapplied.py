"""Money without an order to pay for: a payment that succeeded after its order was cancelled or
expired, a second payment of an order already paid, a bank transfer that arrived late.

Such a payment is kept ``succeeded`` but not ``applied``: it never counts as the order's money
(totals, state, payment status). The order is flagged, and staff refund it through the usual
refund endpoint and admin action, booked against that payment.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.db import transaction
from django.db.models import Max, Sum

from orders import services as orders
from orders.models import Order
from orders.states import ActorType
from payments.models import Payment, PaymentStatus, Refund, RefundStatus


def refund_left(payment: Payment) -> Decimal:
    """What can still be refunded of one payment: its amount - refunded - refunds pending."""
    pending = Refund.objects.filter(payment=payment, status=RefundStatus.PENDING)
    return (
        payment.amount
        - payment.amount_refunded
        - (pending.aggregate(s=Sum("amount"))["s"] or Decimal("0.00"))
    )


def unapplied_payments(order: Order) -> list[tuple[Payment, Decimal]]:
    """The order's money without an order to pay for, with what is left to refund of each."""
    found = []
    for payment in order.payments.filter(status=PaymentStatus.SUCCEEDED, applied=False):
        left = refund_left(payment)
        if left > 0:
            found.append((payment, left))
    return found


def record_unapplied_payment(
    *, order_id: int, gateway: str, amount: Decimal, reference: str, actor: Any, reason: str = ""
) -> Payment:
    """Staff saw money arrive for an order that no longer takes it (a late bank transfer):
    keep it as an unapplied payment of the order, and flag the order so it is refunded."""
    with transaction.atomic():
        order = orders.lock_order(order_id)
        attempt = (order.payments.aggregate(last=Max("attempt"))["last"] or 0) + 1
        payment = Payment.objects.create(
            order=order,
            gateway=gateway,
            reference=f"{order.number}-{attempt}-late",
            attempt=attempt,
            amount=amount,
            currency=order.currency,
            status=PaymentStatus.SUCCEEDED,
            gateway_ids={"bank_reference": reference[:100]},
        )
        orders.flag_order(
            order_id=order.pk,
            reason="payment_for_closed_order",
            actor_type=ActorType.STAFF,
            actor=actor,
            payload={
                "reference": payment.reference,
                "bank_reference": reference,
                "amount": str(amount),
                "state": order.state,
                "note": reason,
            },
        )
    return payment
