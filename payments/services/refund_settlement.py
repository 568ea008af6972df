"""Settling refunds: booking what the gateway confirmed, failing what it refused, and asking the
gateway about refunds whose answer was lost.

A refund is ``pending`` from the moment its money is held on the order until the gateway says
what happened: in its answer, in a refund webhook, or when reconciliation lists the payment's
refunds. Only a definite answer settles it. One that nobody can settle (the gateway lists no
such refund, and no webhook comes) flags its order after ``payments.refund_attention_after_hours``
so that staff look at the gateway's dashboard and settle it by hand.
"""

from __future__ import annotations

import logging
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any, TypedDict

from django.db import transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone

from orders import services as orders
from orders.models import Order
from orders.states import ActorType
from payments.gateways import get_provider
from payments.models import Payment, Refund, RefundOrigin, RefundStatus
from payments.providers.base import GatewayRefund
from payments.providers.errors import PaymentError
from payments.redaction import redact

logger = logging.getLogger(__name__)

# A gateway's clock and ours differ a little: a listed refund made this long before ours was
# created can still be ours.
CLOCK_SKEW = timedelta(minutes=5)
_SETTLED_BY_LISTING = {"succeeded": RefundStatus.PROCESSED, "failed": RefundStatus.FAILED}


def refund_actor_type(refund: Refund) -> str:
    if refund.requested_by_id:
        return ActorType.STAFF
    return ActorType.GATEWAY if refund.origin == RefundOrigin.GATEWAY else ActorType.SYSTEM


class _RefundBooking(TypedDict):
    """What booking a refund on its order says, applied or not (``orders.services``)."""

    order_id: int
    amount: Decimal
    actor_type: str
    actor: Any
    reason: str


def complete_refund(*, order: Order, refund: Refund, payload: dict[str, Any]) -> None:
    """Mark a locked pending refund processed and book it: on the order when its payment paid
    the order (with its restock), else on the order's timeline only. The order is locked."""
    refund.status = RefundStatus.PROCESSED
    refund.processed_at = timezone.now()
    refund.outcome_unknown = False
    refund.save()
    Payment.objects.filter(pk=refund.payment_id).update(
        amount_refunded=F("amount_refunded") + refund.amount
    )
    common: _RefundBooking = {
        "order_id": order.pk,
        "amount": refund.amount,
        "actor_type": refund_actor_type(refund),
        "actor": refund.requested_by,
        "reason": refund.reason,
    }
    details = {"refund_id": refund.pk, "customer_message": refund.customer_message, **payload}
    if refund.payment.applied:
        orders.book_refund(
            **common,
            held=refund.origin != RefundOrigin.GATEWAY,
            restock={int(k): v for k, v in refund.restock_lines.items()},
            payload=details,
        )
    else:
        orders.record_unapplied_refund(
            **common, reference=refund.payment.reference, payload=details
        )


def fail_refund(*, order: Order, refund: Refund, failure: str) -> None:
    """Mark a locked pending refund failed: its held money is refundable again and the order
    is flagged for staff. The order is locked."""
    refund.status = RefundStatus.FAILED
    refund.failure_reason = failure[:300]
    refund.outcome_unknown = False
    refund.save()
    payload = {"refund_id": refund.pk, "failure": refund.failure_reason}
    if refund.payment.applied and refund.origin != RefundOrigin.GATEWAY:
        orders.release_refund(
            order_id=order.pk,
            amount=refund.amount,
            actor_type=refund_actor_type(refund),
            payload=payload,
        )
    else:
        orders.flag_order(
            order_id=order.pk,
            reason="refund_failed",
            actor_type=ActorType.GATEWAY,
            payload={**payload, "amount": str(refund.amount)},
        )


def settle_refund(
    refund_id: int,
    *,
    status: str,
    failure: str = "",
    gateway_refund_id: str | None = None,
    raw: Any = None,
    outcome_unknown: bool = False,
) -> Refund:
    """Apply what the gateway said about a refund, under the order lock. A refund that is no
    longer pending (a webhook settled it meanwhile) only keeps the new ids and answers."""
    with transaction.atomic():
        order_id = Refund.objects.values_list("payment__order", flat=True).get(pk=refund_id)
        order = orders.lock_order(order_id)
        refund = Refund.objects.select_for_update().select_related("payment").get(pk=refund_id)
        if gateway_refund_id and not refund.gateway_refund_id:
            refund.gateway_refund_id = gateway_refund_id
        if raw is not None:
            refund.raw_responses = [*refund.raw_responses, redact(refund.payment.gateway, raw)]
        if refund.status != RefundStatus.PENDING:
            refund.save()
            return refund
        if status == RefundStatus.PROCESSED:
            complete_refund(order=order, refund=refund, payload={"gateway": order.payment_method})
        elif status == RefundStatus.FAILED:
            fail_refund(order=order, refund=refund, failure=failure)
        else:
            refund.outcome_unknown = refund.outcome_unknown or outcome_unknown
            refund.save()
    return refund


# --- reconciliation --------------------------------------------------------------------------
@dataclass
class RefundReconcileReport:
    checked: int = 0
    errors: int = 0
    skipped: int = 0  # claimed by a concurrent reconciler
    not_listed: int = 0  # the gateway lists no refund that is this one (yet)
    flagged: int = 0  # orders flagged for refunds nobody could settle
    statuses: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, object]:
        return {
            "checked": self.checked,
            "errors": self.errors,
            "skipped": self.skipped,
            "not_listed": self.not_listed,
            "flagged": self.flagged,
            "statuses": dict(sorted(self.statuses.items())),
        }


def pending_refunds_due(*, older_than: timedelta, now: datetime | None) -> QuerySet[Refund]:
    cutoff = (now or timezone.now()) - older_than
    return (
        Refund.objects.filter(status=RefundStatus.PENDING, manual=False, created_at__lte=cutoff)
        .filter(Q(checked_at__isnull=True) | Q(checked_at__lte=cutoff))
        .order_by(F("checked_at").asc(nulls_first=True), "pk")
    )


def reconcile_pending_refunds(
    *,
    older_than: timedelta,
    attention_after: timedelta,
    now: datetime | None = None,
    limit: int = 100,
) -> RefundReconcileReport:
    """Ask the gateway about refunds pending longer than ``older_than`` (each at most once per
    ``older_than``), settle those it lists as done or failed, then flag the orders of refunds
    still pending after ``attention_after``. No lock is held across a gateway call: a refund
    is claimed by a compare-and-set of ``checked_at``, so two reconcilers split the work."""
    now = now or timezone.now()
    report = RefundReconcileReport()
    due = list(pending_refunds_due(older_than=older_than, now=now).values_list("pk", "checked_at"))
    for refund_id, seen in due[:limit]:
        unchanged = Q(checked_at__isnull=True) if seen is None else Q(checked_at=seen)
        claimed = (
            Refund.objects.filter(unchanged, pk=refund_id, status=RefundStatus.PENDING)
            .update(checked_at=now)
        )  # fmt: skip
        if not claimed:
            report.skipped += 1
            continue
        report.checked += 1
        refund = Refund.objects.select_related("payment").get(pk=refund_id)
        try:
            listed = get_provider(refund.payment.gateway).list_refunds(
                refund.payment.reference,
                gateway_ids=refund.payment.gateway_ids,
                since=refund.created_at,
            )
        except PaymentError as exc:
            report.errors += 1
            logger.warning("reconcile refunds: refund %s not checked: %s", refund_id, exc.code)
            continue
        match = listed_refund_for(refund, listed)
        if match is None:
            report.not_listed += 1
            continue
        settled = settle_refund(
            refund_id,
            status=_SETTLED_BY_LISTING.get(match.status, RefundStatus.PENDING),
            failure=f"listed by the gateway as {match.gateway_status}",
            gateway_refund_id=match.gateway_refund_id,
        )
        report.statuses[settled.status] += 1
    report.flagged = flag_unsettled_refunds(older_than=attention_after, now=now)
    return report


def listed_refund_for(refund: Refund, listed: list[GatewayRefund]) -> GatewayRefund | None:
    """The gateway's refund that is ours: by its id when we know it; otherwise the oldest one
    of the same amount, made after ours was sent, that no other refund of ours already is."""
    if refund.gateway_refund_id:
        return next((g for g in listed if g.gateway_refund_id == refund.gateway_refund_id), None)
    taken = set(
        Refund.objects.filter(payment_id=refund.payment_id)
        .exclude(gateway_refund_id="")
        .values_list("gateway_refund_id", flat=True)
    )
    candidates = [
        g
        for g in listed
        if g.gateway_refund_id not in taken
        and Decimal(g.amount) == refund.amount
        and (g.currency is None or g.currency == refund.currency)
        and (g.created_at is None or g.created_at >= refund.created_at - CLOCK_SKEW)
    ]
    candidates.sort(key=lambda g: (g.created_at is None, g.created_at or refund.created_at))
    return candidates[0] if candidates else None


def flag_unsettled_refunds(*, older_than: timedelta, now: datetime | None = None) -> int:
    """Flag, once each, the orders of refunds still pending ``older_than`` after they were sent:
    neither a webhook nor the gateway's listing settled them, so staff must."""
    now = now or timezone.now()
    count = 0
    stale = Refund.objects.filter(
        status=RefundStatus.PENDING, flagged_at__isnull=True, created_at__lte=now - older_than
    ).values_list("pk", "payment__order", "amount")
    for refund_id, order_id, amount in stale:
        with transaction.atomic():
            if not Refund.objects.filter(pk=refund_id, flagged_at__isnull=True).update(
                flagged_at=now
            ):
                continue  # a concurrent run flagged it
            orders.flag_order(
                order_id=order_id,
                reason="refund_unsettled",
                payload={"refund_id": refund_id, "amount": str(amount)},
            )
        count += 1
    return count
