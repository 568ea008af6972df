"""issue_refund: the one refund service (staff admin, staff API, automatic refunds).

1. Under the order lock, before any gateway call: a request repeating an Idempotency-Key gets
   the refund made with it (another body, or another order: ``idempotency_key_reused``); the
   order must allow a refund now (``orders.refund_refusal``); the amount must fit what is left
   (paid - refunded - pending), the lines what is left of each item (ordered - refunded -
   pending), the restock what was taken off the shelf (ordered - restocked - pending restock).
   The amount is then held on the order and a pending Refund written, in one transaction.
2. Outside any lock: the gateway call (offline methods: paid back by hand, booked at once).
3. What the gateway answered settles it (``refund_settlement.settle_refund``): processed →
   booked; a definite refusal → failed, the hold released, the order flagged, the error
   raised; an answer lost (``GatewayOutcomeUnknown``) → still pending and still held, settled
   later by the refund webhook or by reconciliation asking the gateway.

Money that did not pay the order (a payment after cancellation, a second payment, a late bank
transfer: a succeeded payment that is not ``applied``) is refunded the same way, booked against
that payment and never against the order's totals.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction

from core.errors import DomainError
from orders import services as orders
from orders.errors import IdempotencyKeyReused, RefundInvalid
from orders.models import Order, OrderItem
from payments.errors import RefundExceedsRefundable, RefundHeldByDispute, RefundNotAllowed
from payments.gateways import get_provider
from payments.models import Payment, Refund, RefundOrigin, RefundStatus
from payments.models import PaymentStatus as AttemptStatus
from payments.providers.errors import GatewayOutcomeUnknown
from payments.services.refund_settlement import complete_refund, settle_refund
from payments.services.unapplied import refund_left, unapplied_payments

logger = logging.getLogger(__name__)

GATEWAY_REFUNDS = ("paystack", "stripe", "flutterwave", "dummy")
ZERO = Decimal("0.00")


@dataclass(frozen=True)
class IssuedRefund:
    refund: Refund
    created: bool  # False: the refund an earlier request with the same key made


def issue_refund(**request: Any) -> Refund:
    """As ``request_refund``; answers the refund."""
    return request_refund(**request).refund


def request_refund(
    *,
    order_id: int,
    amount: Decimal | None,
    lines: Mapping[int, int] | None,
    restock: bool,
    reason: str,
    actor: Any,
    idempotency_key: str | None = None,
    fingerprint: str = "",
    customer_message: str = "",
    payment_reference: str | None = None,
    origin: str = RefundOrigin.STAFF,
) -> IssuedRefund:
    """Refund ``amount`` (None: the value of ``lines``, or everything left) of an order.

    ``lines`` maps product ids to refunded units; with ``restock`` those units go back on the
    shelf when the refund is processed (a full refund with ``restock`` and no lines restocks
    every unit not yet restocked). ``payment_reference`` names the payment to refund (needed
    only when an order holds more than one payment with money left).

    Returns the Refund (and whether this call made it): ``processed``, or ``pending`` (until
    the gateway's webhook, or with ``outcome_unknown`` when its answer was lost). A definite
    refusal by the gateway marks it ``failed`` and raises the gateway's error
    (``details.refund_id`` names it). Refusals before
    the gateway (``refund_not_allowed``, ``refund_exceeds_refundable``, ``refund_invalid``…)
    change nothing. A repeated ``idempotency_key`` with the same ``fingerprint`` returns the
    first Refund.
    """
    refund, created = _reserve_refund(
        order_id=order_id,
        amount=amount,
        lines=lines or {},
        restock=restock,
        reason=reason,
        actor=actor,
        idempotency_key=idempotency_key or uuid.uuid4().hex,
        fingerprint=fingerprint,
        customer_message=customer_message,
        payment_reference=payment_reference,
        origin=origin,
    )
    if not created or refund.status != RefundStatus.PENDING:
        # A repeated key (the first call owns the gateway call), or paid back by hand.
        return IssuedRefund(refund, created)
    return IssuedRefund(_ask_gateway(refund), created=True)


def _ask_gateway(refund: Refund) -> Refund:
    payment = refund.payment
    try:
        result = get_provider(payment.gateway).refund(
            payment.reference,
            refund.amount,
            refund.reason or "Refund",
            currency=refund.currency,
            gateway_ids=payment.gateway_ids,
            idempotency_key=str(refund.idempotency_key),
        )
    except GatewayOutcomeUnknown as exc:
        logger.warning(
            "Refund %s sent to %s, answer lost (%s): left pending", refund.pk, payment.gateway,
            exc.details.get("reason") or exc.details.get("status") or exc.details.get("call"),
        )  # fmt: skip
        return settle_refund(refund.pk, status=RefundStatus.PENDING, outcome_unknown=True)
    except DomainError as exc:
        settle_refund(refund.pk, status=RefundStatus.FAILED, failure=f"{exc.code}: {exc.message}")
        exc.details = {**exc.details, "refund_id": refund.pk}
        raise
    status = {
        "failed": RefundStatus.FAILED,
        "succeeded": RefundStatus.PROCESSED,
        "manual": RefundStatus.PROCESSED,
    }.get(result.status, RefundStatus.PENDING)
    return settle_refund(
        refund.pk,
        status=status,
        failure=result.gateway_status,
        gateway_refund_id=result.gateway_refund_id,
        raw=result.raw,
    )


def refundable_amount(order: Order) -> Decimal:
    """What is left to refund of the order's own money (paid - refunded - pending)."""
    return orders.refundable_balance(order)


def _reserve_refund(
    *,
    order_id: int,
    amount: Decimal | None,
    lines: Mapping[int, int],
    restock: bool,
    reason: str,
    actor: Any,
    idempotency_key: str,
    fingerprint: str,
    customer_message: str,
    payment_reference: str | None,
    origin: str,
) -> tuple[Refund, bool]:
    with transaction.atomic():
        order = orders.lock_order(order_id)
        earlier = _earlier_refund(idempotency_key, order, fingerprint)
        if earlier is not None:
            return earlier, False
        payment = _payment_to_refund(order, payment_reference)
        if payment is None or payment.applied:
            amount, refunded_lines, restock_lines = _order_money(order, amount, lines, restock)
            payment = payment or _offline_payment(order)
            orders.hold_refund(order=order, amount=amount)
        else:
            amount, refunded_lines, restock_lines = _unapplied_money(
                payment, amount, lines, restock
            )
        try:
            with transaction.atomic():  # a savepoint: the key may be taken meanwhile
                refund = Refund.objects.create(
                    payment=payment,
                    amount=amount,
                    currency=payment.currency,
                    reason=reason[:300],
                    customer_message=customer_message[:500],
                    origin=origin,
                    manual=payment.gateway not in GATEWAY_REFUNDS,
                    requested_by=actor if getattr(actor, "pk", None) else None,
                    lines={str(i): q for i, q in refunded_lines.items()},
                    restock_lines={str(i): q for i, q in restock_lines.items()},
                    idempotency_key=idempotency_key,
                    request_fingerprint=fingerprint,
                )
        except IntegrityError:
            # Only this order is locked, so a refund of another order may have taken the same
            # key since the check above; the unique constraint waited for it to commit.
            if _earlier_refund(idempotency_key, order, fingerprint) is None:
                raise
            raise IdempotencyKeyReused(details={"idempotency_key": idempotency_key}) from None
        if refund.manual:
            complete_refund(order=order, refund=refund, payload={"manual": True})
    return refund, True


def _earlier_refund(idempotency_key: str, order: Order, fingerprint: str) -> Refund | None:
    """The refund already made with this key: this order's, asked with the same body."""
    earlier = (
        Refund.objects.filter(idempotency_key=idempotency_key).select_related("payment").first()
    )
    if earlier is None:
        return None
    other_body = fingerprint and earlier.request_fingerprint not in ("", fingerprint)
    if earlier.payment.order_id != order.pk or other_body:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for another refund request.",
            details={"idempotency_key": idempotency_key},
        )
    return earlier


def _payment_to_refund(order: Order, reference: str | None) -> Payment | None:
    """The payment a refund goes against: the one named; else the payment that paid the order
    while its money is refundable; else the one payment without an order to pay for."""
    succeeded = order.payments.filter(status=AttemptStatus.SUCCEEDED)
    if reference:
        payment = succeeded.filter(reference=reference).first()
        if payment is None:
            raise RefundNotAllowed(
                "This order has no paid payment with that reference.",
                details={"payment": reference},
            )
        return payment
    applied = succeeded.filter(applied=True).order_by("-attempt").first()
    if orders.refund_refusal(order) is None and orders.refundable_balance(order) > 0:
        return applied
    unapplied = unapplied_payments(order)
    if len(unapplied) == 1:
        return unapplied[0][0]
    if len(unapplied) > 1:
        raise RefundNotAllowed(
            "This order holds several payments with money left: name the one to refund.",
            details={"payments": [p.reference for p, _ in unapplied]},
        )
    return applied  # nothing else to refund: the order's own rules answer


def _order_money(
    order: Order, amount: Decimal | None, lines: Mapping[int, int], restock: bool
) -> tuple[Decimal, dict[int, int], dict[int, int]]:
    """Check a refund of the order's own money; returns (amount, refunded units per item,
    restocked units per item)."""
    refusal = orders.refund_refusal(order)
    if refusal is not None:
        reason, message = refusal
        details = {"order_id": order.pk, "state": order.state, "reason": reason}
        if reason == "dispute_open":
            raise RefundHeldByDispute(details=details)
        raise RefundNotAllowed(message, details=details)
    items = {item.pk: item for item in order.items.filter(product__isnull=False)}
    by_product = {item.product_id: item for item in items.values()}
    left = orders.refundable_balance(order)
    taken, restocking = _units_in_refunds(order)
    missing = sorted(int(p) for p in lines if int(p) not in by_product)
    if missing:
        raise RefundNotAllowed(
            "Some products are not in this order.", details={"product_ids": missing}
        )
    refunded = {by_product[int(p)].pk: int(units) for p, units in lines.items()}
    if amount is None:
        amount = (orders.refund_value_of_units(order, refunded) if refunded else ZERO) or left
    amount = Decimal(amount)
    if amount <= 0 or amount > left:
        raise RefundExceedsRefundable(details={"amount": str(amount), "refundable": str(left)})
    too_many = [
        {"product_id": items[pk].product_id, "requested": units,
         "refundable": items[pk].quantity - taken.get(pk, 0)}
        for pk, units in refunded.items()
        if not 0 < units <= items[pk].quantity - taken.get(pk, 0)
    ]  # fmt: skip
    if too_many:
        raise RefundInvalid(
            "More units than are left to refund of these lines.", details={"items": too_many}
        )
    restock_lines = _restock_lines(
        order, items, refunded, restock, full=amount == left, restocking=restocking
    )
    return amount, refunded, restock_lines


def _restock_lines(
    order: Order,
    items: Mapping[int, OrderItem],
    refunded: Mapping[int, int],
    restock: bool,
    *,
    full: bool,
    restocking: Mapping[int, int],
) -> dict[int, int]:
    """The units to put back when the refund is processed, capped by what is still off the
    shelf (ordered - restocked - restocks pending in other refunds). A full refund with no
    lines restocks every unit still off the shelf."""
    if not restock:
        return {}
    shelf_left = {
        pk: item.quantity - item.quantity_restocked - restocking.get(pk, 0)
        for pk, item in items.items()
    }
    if refunded:
        wanted = dict(refunded)
    elif full:
        wanted = {pk: units for pk, units in shelf_left.items() if units > 0}
    else:
        raise RefundInvalid(
            "Choose the lines (and units) to put back on stock.", details={"restock": True}
        )
    if wanted and not order.stock_deducted:
        raise RefundInvalid(
            "Nothing to restock: this order's stock was never deducted.",
            details={"restock": {str(k): v for k, v in wanted.items()}},
        )
    too_many = [
        {"product_id": items[pk].product_id, "requested": units, "restockable": shelf_left[pk]}
        for pk, units in wanted.items()
        if units > shelf_left[pk]
    ]
    if too_many:
        raise RefundInvalid(
            "Some lines cannot be restocked that much.", details={"items": too_many}
        )
    return wanted


def _units_in_refunds(order: Order) -> tuple[dict[int, int], dict[int, int]]:
    """Per order item: units refunded or being refunded, and units whose restock is pending."""
    taken: dict[int, int] = {}
    restocking: dict[int, int] = {}
    refunds = Refund.objects.filter(payment__order=order).exclude(status=RefundStatus.FAILED)
    for status, lines, restock_lines in refunds.values_list("status", "lines", "restock_lines"):
        for item_id, units in (lines or {}).items():
            taken[int(item_id)] = taken.get(int(item_id), 0) + int(units)
        if status == RefundStatus.PENDING:
            for item_id, units in (restock_lines or {}).items():
                restocking[int(item_id)] = restocking.get(int(item_id), 0) + int(units)
    return taken, restocking


def _unapplied_money(
    payment: Payment, amount: Decimal | None, lines: Mapping[int, int], restock: bool
) -> tuple[Decimal, dict[int, int], dict[int, int]]:
    if lines or restock:
        raise RefundInvalid(
            "This payment did not pay for the order's items: refund an amount, without lines.",
            details={"payment": payment.reference},
        )
    left = refund_left(payment)
    amount = left if amount is None else Decimal(amount)
    if amount <= 0 or amount > left:
        raise RefundExceedsRefundable(
            details={"amount": str(amount), "refundable": str(left), "payment": payment.reference}
        )
    return amount, {}, {}


def _offline_payment(order: Order) -> Payment:
    """Offline methods (bank transfer, COD) have no gateway attempt: one manual record."""
    payment, _ = Payment.objects.get_or_create(
        order=order,
        gateway=order.payment_method,
        status=AttemptStatus.SUCCEEDED,
        applied=True,
        defaults={
            "reference": f"{order.number}-offline",
            "attempt": (order.payments.count() or 0) + 1,
            "amount": order.total,
            "currency": order.currency,
        },
    )
    return payment
