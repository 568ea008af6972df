"""Registers the hosted-page gateways with the orders' payment-method registry."""

from datetime import datetime, timedelta
from functools import partial
from typing import Any

from orders.models import Order
from orders.payment_methods import PaymentMethod, order_expiry, register_payment_method
from orders.states import PaymentStatus
from payments.gateways import provider_available
from shop.platform_settings import get_setting

GATEWAY_METHODS = ("paystack", "stripe", "flutterwave", "dummy")


def _gateway_lock_expiry(now: datetime, order_expires_at: datetime | None) -> datetime:
    return now + timedelta(minutes=get_setting("checkout.lock_ttl_minutes"))


def _redirect_pending(order: Order) -> dict[str, Any]:
    # Inside the checkout transaction: no I/O. start_after_commit replaces it with the session.
    return {
        "method": order.payment_method,
        "action": "redirect",
        "status": "starting",
        "amount": str(order.total),
        "currency": order.currency,
        "pay_url": f"/api/orders/{order.pk}/pay/",
    }


def _start(order: Order) -> dict[str, Any]:
    from payments.services import start_payment

    return start_payment(order_id=order.pk)


def _close_attempts(order_id: int) -> None:
    from payments.services import close_open_attempts

    close_open_attempts(order_id=order_id)


def _current_payment(order_id: int) -> dict[str, Any] | None:
    from payments.services import current_payment_object

    return current_payment_object(order_id=order_id)


def register() -> None:
    for code in GATEWAY_METHODS:
        register_payment_method(
            PaymentMethod(
                code=code,
                initial_payment_status=PaymentStatus.PENDING,
                order_expires_at=order_expiry,
                lock_expires_at=_gateway_lock_expiry,
                instructions=_redirect_pending,
                start_after_commit=_start,
                close_attempts_after_commit=_close_attempts,
                current_payment=_current_payment,
                is_available=partial(provider_available, code),
            )
        )
