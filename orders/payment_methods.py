"""Payment methods a checkout can use, in one registry.

Adding a method (the gateway issue adds paystack, stripe, flutterwave) is one
``register_payment_method(PaymentMethod(...))`` call. A method decides: the payment status a new
order starts with, how long its stock locks and the unpaid order last, and the ``payment``
object of the checkout response. ``instructions`` runs inside the checkout transaction and
must do no I/O; a gateway sets ``start_after_commit`` instead, which runs after the order is
committed, outside any transaction (never hold a row lock across an HTTP call).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from orders.errors import PaymentMethodNotAllowed
from orders.models import COD, Order
from orders.states import PaymentStatus
from shop.platform_settings import get_setting

BANK_TRANSFER = "bank_transfer"


def order_expiry(now: datetime) -> datetime:
    return now + timedelta(hours=get_setting("checkout.unpaid_order_expiry_hours"))


def cod_acceptance_expiry(now: datetime) -> datetime:
    """A cash-on-delivery order not accepted by staff by then expires and releases its stock."""
    return now + timedelta(hours=get_setting("checkout.cod_acceptance_hours"))


def gateway_lock_expiry(now: datetime, order_expires_at: datetime | None) -> datetime | None:
    return now + timedelta(minutes=get_setting("checkout.lock_ttl_minutes"))


def _until_order_expires(now: datetime, order_expires_at: datetime | None) -> datetime | None:
    return order_expires_at


@dataclass(frozen=True)
class PaymentMethod:
    code: str
    initial_payment_status: str
    # (now) -> when the unpaid order expires (None: never; staff decide).
    order_expires_at: Callable[[datetime], datetime | None]
    # (now, order expiry) -> when the stock locks expire (None: held until released).
    lock_expires_at: Callable[[datetime, datetime | None], datetime | None]
    # (order) -> the response's "payment" object; pure, runs inside the transaction.
    instructions: Callable[[Order], dict[str, Any]]
    # (order) -> the "payment" object after commit (gateway call); None for offline methods.
    # It runs outside any transaction and must not raise when the gateway is down: it returns
    # a payment object saying so, and the order stays pending_payment for a later retry.
    start_after_commit: Callable[[Order], dict[str, Any]] | None = None
    # (order id) -> None: close the gateway's open payment pages of an unpaid order that was
    # cancelled or expired; runs after commit, outside any transaction, and never raises.
    close_attempts_after_commit: Callable[[int], None] | None = None
    # (order id) -> the "payment" object of the order's latest open payment, None when there
    # is none (a replayed checkout answer shows the payment as it is then).
    current_payment: Callable[[int], dict[str, Any] | None] | None = None
    # () -> whether this deployment can take the method at all (the dev-only dummy gateway
    # only with DEBUG on); one that cannot is refused like a method that is not allowed.
    is_available: Callable[[], bool] = lambda: True


def _bank_transfer_instructions(order: Order) -> dict[str, Any]:
    return {
        "method": BANK_TRANSFER,
        "action": "transfer",
        "amount": str(order.total),
        "currency": order.currency,
        "reference": order.number,
        "account": get_setting("bank_transfer.account"),
        "pay_before": order.expires_at.isoformat() if order.expires_at else None,
    }


def _cod_instructions(order: Order) -> dict[str, Any]:
    return {
        "method": COD,
        "action": "none",
        "amount_due_on_delivery": str(order.total),
        "currency": order.currency,
        "message": "Nothing to pay now: pay the courier in cash on delivery.",
    }


_REGISTRY: dict[str, PaymentMethod] = {}


def register_payment_method(method: PaymentMethod) -> None:
    if method.start_after_commit is not None and method.current_payment is None:
        # A replayed checkout answer must show the payment that was opened after the commit.
        raise ValueError(f"{method.code}: start_after_commit needs current_payment")
    _REGISTRY[method.code] = method


def registered_codes() -> list[str]:
    return sorted(_REGISTRY)


def get_payment_method(code: str) -> PaymentMethod:
    """The method, if it is implemented, available here and allowed by the platform settings."""
    allowed = get_setting("checkout.allowed_payment_methods")
    method = _REGISTRY.get(code)
    if method is None or code not in allowed or not method.is_available():
        raise PaymentMethodNotAllowed(
            details={
                "payment_method": code,
                "available": [
                    c for c, m in sorted(_REGISTRY.items()) if c in allowed and m.is_available()
                ],
            }
        )
    return method


register_payment_method(
    PaymentMethod(
        code=BANK_TRANSFER,
        initial_payment_status=PaymentStatus.NOT_PAID,
        order_expires_at=order_expiry,
        lock_expires_at=_until_order_expires,
        instructions=_bank_transfer_instructions,
    )
)
register_payment_method(
    PaymentMethod(
        code=COD,
        initial_payment_status=PaymentStatus.PENDING,
        order_expires_at=cod_acceptance_expiry,
        lock_expires_at=_until_order_expires,
        instructions=_cod_instructions,
    )
)


def payment_method_or_none(code: str) -> PaymentMethod | None:
    """The registered method, whether or not it is still offered at checkout."""
    return _REGISTRY.get(code)
