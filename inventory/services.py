"""Stock writes of orders: reserve, commit, release, restore, extend and sweep.

``commit`` and ``restore`` change ``Product.stock`` through ``inventory.ledger``, which writes
their ledger rows in the same transaction (staff edits are in ``inventory.adjustments``).

Quantities are always aggregated per product first, so two lines of the same product can never
pass the availability check separately. Each function runs in the caller's transaction when
there is one (orders call these inside the order's transaction), without a savepoint:
``reserve`` and ``commit`` check before they write, so a refusal has nothing to undo, and the
savepoint's two round trips would be paid while the product rows are locked. Called alone,
each opens its own transaction.

Why two statements (lock, then sum the locks) instead of one: in READ COMMITTED a statement
that waited for a row lock re-reads the locked row but keeps its start-time snapshot for every
other table. A single "lock products and sum their locks" query could therefore miss the locks
written by the transaction it waited for, and oversell. The aggregate runs after the lock is
granted, so it sees everything committed before us.
"""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import partial
from typing import Any

from django.db import connection, transaction
from django.db.models import Case, F, Value, When
from django.db.models.functions import Greatest
from django.utils import timezone

from core import sql
from core.transactions import joined_transaction
from inventory.errors import InsufficientStock, ProductNotFound
from inventory.ledger import apply_stock_change
from inventory.locks import (
    LockedAndBounded,
    LockedProduct,
    lock_and_hold,
    lock_products,
)
from inventory.models import InventoryLock, MovementKind, StockHold
from inventory.selectors import active_locked_quantities, all_locked_quantities
from observability.metrics import INVENTORY_LOCKS_CREATED, INVENTORY_LOCKS_EXPIRED

SWEEP_BATCH_SIZE = 5000

Lines = Mapping[int, int] | Iterable[tuple[int, int]]


def aggregate_lines(lines: Lines) -> dict[int, int]:
    """``{product_id: total quantity}`` from a mapping or (product_id, quantity) pairs."""
    pairs = lines.items() if isinstance(lines, Mapping) else lines
    totals: dict[int, int] = defaultdict(int)
    for product_id, quantity in pairs:
        if quantity <= 0:
            raise ValueError(f"Quantity must be positive, got {quantity} for {product_id}.")
        totals[int(product_id)] += int(quantity)
    return dict(totals)


def _check_available(
    wanted: dict[int, int],
    products: dict[int, LockedProduct],
    *,
    now: datetime,
    exclude_owner: str | None = None,
) -> None:
    missing = sorted(set(wanted) - products.keys())
    if missing:
        raise ProductNotFound(details={"product_ids": missing})
    held = active_locked_quantities(wanted, now=now, exclude_owner=exclude_owner)
    available = {pid: max(products[pid].stock - held.get(pid, 0), 0) for pid in wanted}
    raise_if_short(wanted, available, products)


def raise_if_short(
    wanted: Mapping[int, int], available: Mapping[int, int], products: Mapping[int, Any]
) -> None:
    """Raise ``InsufficientStock`` naming every product (``sku``, ``name``) short of units."""
    short = [
        {
            "product_id": pid,
            "sku": products[pid].sku,
            "name": products[pid].name,
            "requested": wanted[pid],
            "available": available[pid],
        }
        for pid in sorted(wanted)
        if wanted[pid] > available[pid]
    ]
    if short:
        raise InsufficientStock(details={"products": short})


def reserve(
    *,
    lines: Lines,
    owner: str,
    expires_at: datetime | None = None,
    ttl: timedelta | None = None,
    now: datetime | None = None,
) -> dict[int, LockedProduct]:
    """Hold the lines' units for ``owner`` until ``expires_at`` or for ``ttl`` (neither: until
    released).

    Writes one lock per product, or nothing and raises ``InsufficientStock`` naming every
    short product. Returns the locked product rows (current price, stock…) so the caller can
    price the order from values read under the lock. The owner must not already hold locks
    on these products (``release`` first when re-reserving).
    """
    if expires_at is not None and ttl is not None:
        raise ValueError("Give expires_at or ttl, not both.")
    wanted = aggregate_lines(lines)
    if not wanted:
        return {}
    now = now or timezone.now()
    if ttl is not None:
        expires_at = now + ttl
    with joined_transaction():
        # The one write before the check is the bound: a refusal below leaves it raised, which
        # only over-counts (safe) and is corrected by the next exact check.
        if connection.vendor == "postgresql":
            step = lock_and_hold(wanted, owner=owner, expires_at=expires_at, now=now)
        else:
            products = lock_products(wanted)
            bounds = _raise_hold_bounds(wanted) if products.keys() == wanted.keys() else {}
            step = LockedAndBounded(products=products, bounds=bounds, held=False)
        products = step.products
        missing = sorted(set(wanted) - products.keys())
        if missing:
            raise ProductNotFound(details={"product_ids": missing})
        if not step.held:
            # Fast path: stock covers even the upper bound of what is held, so it covers the
            # rest; otherwise sum the locks exactly (and reset the bounds to that).
            unsure = {
                pid: qty for pid, qty in wanted.items() if step.bounds[pid] > products[pid].stock
            }
            if unsure:
                _check_available(unsure, products, now=now)
                _reset_hold_bounds(unsure)
            sql.insert(
                [
                    InventoryLock(product_id=pid, owner=owner, quantity=qty, expires_at=expires_at)
                    for pid, qty in sorted(wanted.items())
                ]
            )
        transaction.on_commit(partial(INVENTORY_LOCKS_CREATED.inc, len(wanted)))
    return products


def _raise_hold_bounds(wanted: dict[int, int]) -> dict[int, int]:
    """Add the new units to each product's hold bound; returns the new bounds (one statement).

    Runs under the product row locks, so the bound it returns is current: every writer of a
    bound holds the product's lock.
    """
    table = connection.ops.quote_name(StockHold._meta.db_table)
    rows = sorted(wanted.items())
    values = ", ".join(["(%s, %s)"] * len(rows))
    # Only the model's table name and placeholders are interpolated; values are parameters.
    sql = (
        f"INSERT INTO {table} (product_id, quantity) VALUES {values} "  # noqa: S608
        f"ON CONFLICT (product_id) DO UPDATE SET quantity = {table}.quantity + excluded.quantity "
        "RETURNING product_id, quantity"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [v for row in rows for v in row])
        return dict(cursor.fetchall())


def _reset_hold_bounds(wanted: dict[int, int]) -> None:
    """Set the bounds to the exact units of every existing lock plus the new ones."""
    held = all_locked_quantities(wanted)
    StockHold.objects.filter(product_id__in=list(wanted)).update(
        quantity=Case(
            *(
                When(product_id=pid, then=Value(held.get(pid, 0) + qty))
                for pid, qty in wanted.items()
            )
        )
    )


def commit(
    *,
    owner: str,
    lines: Lines,
    now: datetime | None = None,
    kind: str = MovementKind.SALE,
    actor: Any = None,
    reason: str = "",
) -> None:
    """Deduct the lines from stock for ``owner`` and delete the owner's locks.

    The owner's own locks are not counted against it; other owners' active locks are. So when
    the owner's locks are still active this always succeeds, and when they expired (a late
    payment) it succeeds only if the units are still free; otherwise ``InsufficientStock`` is
    raised and nothing changes. Each product's deduction is a ledger row of ``kind`` with
    ``owner`` as its order number.
    """
    wanted = aggregate_lines(lines)
    now = now or timezone.now()
    with joined_transaction():
        if wanted:
            products = lock_products(wanted)
            _check_available(wanted, products, now=now, exclude_owner=owner)
            deltas = {pid: -qty for pid, qty in wanted.items()}
            apply_stock_change(
                products,
                deltas,
                kind=kind,
                actor=actor,
                reason=reason,
                order_number=owner,
                now=now,
            )
        consumed = dict(
            InventoryLock.objects.filter(owner=owner).values_list("product_id", "quantity")
        )
        InventoryLock.objects.filter(owner=owner).delete()
        # Lower the bounds only where we hold the product lock (all writers of a bound do).
        consumed = {pid: qty for pid, qty in consumed.items() if pid in wanted}
        if consumed:
            StockHold.objects.filter(product_id__in=list(consumed)).update(
                quantity=Greatest(
                    F("quantity")
                    - Case(*(When(product_id=pid, then=Value(q)) for pid, q in consumed.items())),
                    Value(0),
                )
            )


def release(*, owner: str) -> int:
    """Drop every lock of ``owner``; returns how many there were."""
    deleted, _ = InventoryLock.objects.filter(owner=owner).delete()
    return deleted


def restore(
    *,
    lines: Lines,
    kind: str = MovementKind.RESTOCK_REFUND,
    order_number: str = "",
    actor: Any = None,
    reason: str = "",
) -> None:
    """Put sold units back on the shelf (a refund with restock, a cancelled paid order), one
    ledger row of ``kind`` per product."""
    wanted = aggregate_lines(lines)
    if not wanted:
        return
    with transaction.atomic():
        products = lock_products(wanted)
        missing = sorted(set(wanted) - products.keys())
        if missing:
            raise ProductNotFound(details={"product_ids": missing})
        apply_stock_change(
            products, wanted, kind=kind, actor=actor, reason=reason, order_number=order_number
        )


def extend(*, owner: str, until: datetime, now: datetime | None = None) -> int:
    """Push the owner's active, expiring locks out to ``until`` (never shortens, never revives).

    Returns the number of locks extended. Expired locks are not revived: their units may
    already be held by someone else; re-reserve instead.
    """
    now = now or timezone.now()
    return InventoryLock.objects.filter(
        owner=owner, expires_at__gt=now, expires_at__lt=until
    ).update(expires_at=until)


@dataclass(frozen=True)
class SweepReport:
    deleted: int
    batches: int  # batches that deleted something


def sweep_expired_batches(
    *,
    now: datetime | None = None,
    batch_size: int = SWEEP_BATCH_SIZE,
    max_batches: int | None = None,
) -> SweepReport:
    """Delete expired locks, ``batch_size`` rows per statement and transaction.

    Availability reads already ignore expired locks, so this only keeps the table small.
    Bounded batches keep each DELETE short even after a long outage. Each batch picks its rows
    with ``FOR UPDATE SKIP LOCKED``: a second sweeper running at the same time takes other rows
    instead of waiting, and a row is deleted (and counted) by exactly one of them.
    ``max_batches`` bounds one call's work; the next call picks up the rest.
    """
    now = now or timezone.now()
    deleted_total = batches = 0
    while max_batches is None or batches < max_batches:
        with transaction.atomic():
            batch = (
                InventoryLock.objects.select_for_update(skip_locked=True)
                .filter(expires_at__lte=now)
                .order_by()
                .values("pk")[:batch_size]
            )
            deleted, _ = InventoryLock.objects.filter(pk__in=batch).delete()
            transaction.on_commit(partial(INVENTORY_LOCKS_EXPIRED.inc, deleted))
        if deleted:
            batches += 1
            deleted_total += deleted
        if deleted < batch_size:
            break
    return SweepReport(deleted=deleted_total, batches=batches)


def sweep_expired(*, now: datetime | None = None, batch_size: int = SWEEP_BATCH_SIZE) -> int:
    """Delete every expired lock in bounded batches; returns how many were deleted."""
    return sweep_expired_batches(now=now, batch_size=batch_size).deleted
