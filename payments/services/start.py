"""Opening a payment attempt at a gateway: a short transaction, then the call, then the store.

A customer who presses "pay" again within ``payments.reuse_open_attempt_minutes`` gets the
attempt already open (same page, no new gateway session). A new attempt, and a cancelled or
expired order, close the older open sessions where the gateway allows it (Stripe), so a page
left open cannot take money for an order that no longer wants it; where it cannot (Paystack,
Flutterwave), money that still arrives is kept as unapplied and refunded by staff.
"""

from __future__ import annotations

import logging
import secrets
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from core.errors import DomainError
from orders.models import Order
from orders.services import lock_order, open_payment_window
from orders.states import OrderState
from payments.errors import OrderNotPayable, PaymentStartFailed
from payments.gateways import get_provider, provider_available
from payments.models import Payment, PaymentStatus
from payments.providers import CreatePaymentRequest
from payments.redaction import redact
from shop.platform_settings import get_setting

logger = logging.getLogger(__name__)

HOSTED_GATEWAYS = ("paystack", "stripe", "flutterwave", "dummy")


def new_reference(order: Order, attempt: int) -> str:
    # Paystack allows only A-Z a-z 0-9 . = - ; the random tail keeps references unguessable.
    return f"{order.number}-{attempt}-{secrets.token_hex(3)}"


def callback_url(reference: str) -> str:
    base = getattr(settings, "PAYMENT_CALLBACK_URL", "") or f"{settings.SITE_URL}/payments/return/"
    return f"{base}?reference={reference}"


def require_online_payment_method(order: Order) -> None:
    """Raise ``OrderNotPayable`` unless the order's method can open a payment here and now."""
    if order.payment_method not in HOSTED_GATEWAYS:
        raise OrderNotPayable(
            "This order's payment method has no online payment.",
            details={"order_id": order.pk, "payment_method": order.payment_method},
        )
    if not provider_available(order.payment_method):
        # A dummy order placed while DEBUG was on: refused before an attempt is written.
        raise OrderNotPayable(
            "This order's payment method is not available.",
            details={"order_id": order.pk, "payment_method": order.payment_method},
        )


def _open_attempt(order_id: int) -> tuple[Payment, bool]:
    """A new attempt (True), or the young open one to show again (False)."""
    with transaction.atomic():
        order = lock_order(order_id)
        if order.state != OrderState.PENDING_PAYMENT:
            raise OrderNotPayable(details={"order_id": order.pk, "state": order.state})
        require_online_payment_method(order)
        young = timezone.now() - timedelta(
            minutes=get_setting("payments.reuse_open_attempt_minutes")
        )
        open_attempt = (
            order.payments.filter(status=PaymentStatus.PENDING, created_at__gte=young)
            .exclude(redirect_url="")
            .order_by("-attempt")
            .first()
        )
        if open_attempt is not None:
            return open_attempt, False
        last = order.payments.aggregate(last=Max("attempt"))["last"] or 0
        payment = Payment.objects.create(
            order=order,
            gateway=order.payment_method,
            reference=new_reference(order, last + 1),
            attempt=last + 1,
            amount=order.total,
            currency=order.currency,
        )
        open_payment_window(order=order)  # a slow 3-D Secure/USSD payment keeps its stock
    return payment, True


def start_payment(*, order_id: int) -> dict[str, Any]:
    """Create a new attempt for an unpaid order and return the response's ``payment`` object
    (``reused`` true: the young attempt already open, shown again).

    The gateway is called outside any transaction. When it fails the attempt is marked failed
    and ``PaymentStartFailed`` (502 ``payment_gateway_unavailable``) is raised with the order
    id: the order stays ``pending_payment`` with its stock, and ``pay`` can try again.
    """
    payment, created = _open_attempt(order_id)
    if not created:
        return payment_object(payment, redirect_url=payment.redirect_url, reused=True)
    close_open_attempts(order_id=order_id, keep=payment.pk)
    order = payment.order
    try:
        provider = get_provider(payment.gateway)
        session = provider.create_payment(
            CreatePaymentRequest(
                reference=payment.reference,
                amount=payment.amount,
                currency=payment.currency,
                email=order.customer.email,
                callback_url=callback_url(payment.reference),
                metadata={"order_number": order.number, "order_id": str(order.pk)},
                description=f"Order {order.number}",
            )
        )
    except DomainError as exc:
        logger.warning(
            "Payment start failed for order %s (%s): %s", order.number, payment.gateway, exc.code
        )
        Payment.objects.filter(pk=payment.pk, status=PaymentStatus.CREATED).update(
            status=PaymentStatus.FAILED, failure_reason=f"start: {exc.code}"[:300]
        )
        raise PaymentStartFailed(
            details={"order_id": order.pk, "order_number": order.number, "cause": exc.code}
        ) from exc
    Payment.objects.filter(pk=payment.pk, status=PaymentStatus.CREATED).update(
        status=PaymentStatus.PENDING,
        redirect_url=session.redirect_url or "",
        gateway_ids=session.gateway_ids,
        raw_responses=[{"create": redact(payment.gateway, session.raw)}],
    )
    return payment_object(payment, redirect_url=session.redirect_url)


def payment_object(
    payment: Payment, *, redirect_url: str | None, reused: bool = False
) -> dict[str, Any]:
    return {
        "method": payment.gateway,
        "action": "redirect",
        "status": "started",
        "reference": payment.reference,
        "attempt": payment.attempt,
        "redirect_url": redirect_url,
        "amount": str(payment.amount),
        "currency": payment.currency,
        "reused": reused,
    }


def current_payment_object(*, order_id: int) -> dict[str, Any] | None:
    """The ``payment`` object of the order's latest attempt that opened a page, if any."""
    payment = (
        Payment.objects.filter(order_id=order_id)
        .exclude(redirect_url="")
        .order_by("-attempt")
        .first()
    )
    return None if payment is None else payment_object(payment, redirect_url=payment.redirect_url)


def close_open_attempts(*, order_id: int, keep: int | None = None) -> int:
    """Close the order's open gateway sessions (all but ``keep``) where the gateway can: each
    closed attempt becomes ``cancelled``. Best effort, outside any transaction: a gateway that
    cannot be reached leaves its session open, and money paid through it is still caught (it
    is kept unapplied and refunded). Returns how many were closed."""
    closed = 0
    open_attempts = Payment.objects.filter(order_id=order_id, status=PaymentStatus.PENDING)
    if keep is not None:
        open_attempts = open_attempts.exclude(pk=keep)
    for payment in open_attempts:
        try:
            done = get_provider(payment.gateway).expire_session(
                payment.reference, gateway_ids=payment.gateway_ids
            )
        except DomainError as exc:
            logger.warning("Could not close attempt %s: %s", payment.reference, exc.code)
            continue
        if done:
            closed += Payment.objects.filter(pk=payment.pk, status=PaymentStatus.PENDING).update(
                status=PaymentStatus.CANCELLED, failure_reason="closed: superseded or cancelled"
            )
    return closed
