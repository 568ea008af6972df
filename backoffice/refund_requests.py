"""Staff refund requests under an Idempotency-Key, with checkout's semantics.

The key is required. The first request's answer is stored on the refund it made and replayed
to every repeat with the same body; a repeat with another body (or for another order) is 422
``idempotency_key_reused``; a repeat sent while the first is still waiting for the gateway is
409 ``request_in_progress`` (after ``ABANDONED_AFTER`` the first request is taken to have died
before answering, and the repeat answers with the refund as it is now). A request refused before
any money moved stores nothing, so the key can be used again once the cause is fixed.

This wraps the refund service; the service itself knows only the key and the body's
fingerprint, which it checks under the order lock.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.utils import timezone

from backoffice import services as staff
from core.api import error_body
from core.errors import DomainError
from orders import idempotency
from orders.errors import IdempotencyKeyReused, RequestInProgress
from payments.models import Refund


@dataclass(frozen=True)
class Answer:
    status: int
    body: dict[str, Any]


Render = Callable[[Refund], tuple[int, dict[str, Any]]]


def refund_once(
    *, order_id: int, data: dict[str, Any], key: str, actor: Any, render: Render
) -> Answer:
    """Refund as ``data`` asks (the staff API's validated body) unless ``key`` was used
    already; ``render`` makes the answer to store and give (status, body)."""
    fingerprint = idempotency.fingerprint({"order_id": order_id, **data})
    earlier = Refund.objects.filter(idempotency_key=key).select_related("payment").first()
    if earlier is not None:
        return _replay(earlier, order_id=order_id, fingerprint=fingerprint, render=render)
    try:
        issued = staff.issue_refund_request(
            order_id=order_id,
            amount=data["amount"],
            lines=data["lines"],
            restock=data["restock"],
            reason=data["reason"],
            actor=actor,
            idempotency_key=key,
            fingerprint=fingerprint,
            customer_message=data["customer_message"],
            payment_reference=data["payment"],
        )
    except DomainError as error:
        refund_id = error.details.get("refund_id")
        if refund_id is None:
            raise  # refused before any money moved: nothing to remember
        body = error_body(error.code, error.message, error.details)
        return _store(refund_id, error.http_status, body)
    if not issued.created:  # a request with the key got there first, under the order lock
        return _replay(issued.refund, order_id=order_id, fingerprint=fingerprint, render=render)
    return _store(issued.refund.pk, *render(issued.refund))


def _replay(earlier: Refund, *, order_id: int, fingerprint: str, render: Render) -> Answer:
    if earlier.payment.order_id != order_id or earlier.request_fingerprint != fingerprint:
        raise IdempotencyKeyReused(
            "This Idempotency-Key was used for another refund request.",
            details={"idempotency_key": earlier.idempotency_key},
        )
    if earlier.response_status is not None:
        return Answer(earlier.response_status, earlier.response_body or {})
    if earlier.created_at > timezone.now() - idempotency.ABANDONED_AFTER:
        raise RequestInProgress()
    return _store(earlier.pk, *render(earlier))


def _store(refund_id: int, status: int, body: dict[str, Any]) -> Answer:
    """Keep the first answer; a concurrent request that stored one first wins."""
    body = idempotency.as_json(body)
    Refund.objects.filter(pk=refund_id, response_status__isnull=True).update(
        response_status=status, response_body=body
    )
    stored_status, stored_body = Refund.objects.values_list("response_status", "response_body").get(
        pk=refund_id
    )
    if stored_status is None or stored_body is None:  # the update above leaves none unset
        raise RuntimeError(f"refund {refund_id} kept no answer")
    return Answer(stored_status, stored_body)
