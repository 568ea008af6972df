"""Checkout under an Idempotency-Key: the wrapper the API puts around ``place_order``.

One transaction does the work and keeps the key: ``claim`` (held: it goes out first with the
order's own writes, so a second request with the key learns that it is taken before anything
of its own can fail, and a request refused before writing claims nothing), ``place_order``,
then ``complete`` with the answer. A key used before is found when the claim fails (``KeyTaken``):
the transaction rolls back and the stored answer is replayed (another body: 422; still running:
409), so a new key, the common case, costs no lookup of its own. A key found expired or
abandoned is deleted by that lookup and the request runs again, once.

The stored answer is what the first request answered before any payment started: the payment
a gateway opens after the commit is added to the answer, never written into the stored one,
and a replay adds the payment as it is then (``checkout_answer``).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from django.db import transaction
from django.utils import timezone

from core import sql
from core.errors import DomainError
from orders import idempotency
from orders.checkout import CheckoutRequest, PlacedOrder, place_order
from orders.errors import RequestInProgress


@dataclass(frozen=True)
class CheckoutAnswer:
    status: int
    body: dict[str, Any]
    placed: PlacedOrder | None  # None: the answer of an earlier request, replayed

    @property
    def replayed(self) -> bool:
        return self.placed is None


Render = Callable[[PlacedOrder], dict[str, Any]]


def place_order_once(
    request: CheckoutRequest, *, key: str, fingerprint: str, render: Render
) -> CheckoutAnswer:
    """``place_order(request)`` unless a request with ``key`` came before: then its answer.
    Raises what ``place_order`` raises, and ``IdempotencyKeyReused`` or ``RequestInProgress``."""
    for _ in range(2):
        now = timezone.now()
        customer = request.customer
        try:
            with transaction.atomic(), sql.write_batch():
                idempotency.claim(customer=customer, key=key, fingerprint=fingerprint, now=now)
                placed = place_order(request)
                body = idempotency.as_json(render(placed))
                status = HTTPStatus.CREATED.value
                idempotency.complete(
                    customer=customer, key=key, status=status, body=body, order=placed.order
                )
        except idempotency.KeyTaken:
            found = idempotency.answer_taken(
                customer=customer, key=key, fingerprint=fingerprint, now=now
            )
            if found is None:
                continue  # the key's row had expired (now deleted): the key is free again
            return CheckoutAnswer(found.status, found.body, placed=None)
        except DomainError:
            # Refused before anything was written, the claim included. A retry of a request
            # that was answered (its order emptied the cart, or sold the last units) gets that
            # answer, whatever the cart holds now.
            found = idempotency.stored_answer(
                customer=customer, key=key, fingerprint=fingerprint, now=now
            )
            if found is None:
                raise
            return CheckoutAnswer(found.status, found.body, placed=None)
        return CheckoutAnswer(status, body, placed)
    raise RequestInProgress()  # freed, then taken again meanwhile
