"""A stock change's two writes: the ``Product.stock`` UPDATE and its ledger rows.

Every change of a product's stock goes through here, in the transaction that decides it and
under the products' row locks (``inventory.locks``), so the stock read under the lock plus the
delta is the stock the change leaves, and the ledger holds exactly the changes that committed.
Two statements whatever the number of products: one UPDATE, one INSERT.
"""

from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db.models import Case, F, When
from django.utils import timezone

from inventory.locks import LockedProduct
from inventory.models import StockMovement
from shop.models import Product


def apply_stock_change(
    locked: Mapping[int, LockedProduct], deltas: Mapping[int, int], **details: Any
) -> list[StockMovement]:
    """Add ``deltas`` (``{product_id: units}``, none zero) to the stock of the ``locked``
    products (rows read under their lock, in this transaction) and record them;
    ``details`` are ``record_movements``' keywords (``kind``, ``actor``…)."""
    Product.objects.filter(pk__in=list(deltas)).update(
        stock=Case(*(When(pk=pid, then=F("stock") + delta) for pid, delta in deltas.items()))
    )
    return record_movements({pid: locked[pid].stock for pid in deltas}, deltas, **details)


def record_movements(
    stock_before: Mapping[int, int],
    deltas: Mapping[int, int],
    *,
    kind: str,
    actor: Any = None,
    reason: str = "",
    order_number: str = "",
    now: datetime | None = None,
) -> list[StockMovement]:
    """The ledger rows of a change already applied, one per product, in one INSERT."""
    now = now or timezone.now()
    return StockMovement.objects.bulk_create(
        StockMovement(
            product_id=pid,
            delta=delta,
            stock_after=stock_before[pid] + delta,
            kind=kind,
            reason=reason,
            actor_id=getattr(actor, "pk", None),  # a user, or None (a gateway, the system)
            order_number=order_number,
            created_at=now,
        )
        for pid, delta in sorted(deltas.items())
    )
