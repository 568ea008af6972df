"""Row-lock helpers: every product row lock in the code base is taken here, in id order.

Locking in ascending id order means two transactions that need overlapping products always
queue in the same order and never deadlock. ``FOR NO KEY UPDATE`` is enough (we never change
the key) and, unlike ``FOR UPDATE``, it does not block inserts of rows that reference the
product (cart lines, inventory locks, order items) in other transactions.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache, lru_cache
from typing import Any

from django.db import connection

from core import sql
from inventory.models import InventoryLock, StockHold
from shop.models import Product


@dataclass(frozen=True)
class LockedProduct:
    id: int
    sku: str
    name: str
    stock: int
    price: Decimal
    currency: str
    is_active: bool


@lru_cache(maxsize=128)
def _lock_sql(count: int, for_update: bool) -> str:
    fields = ["id", "sku", "name", "stock", "price", "currency", "is_active"]
    placeholders = ", ".join(["%s"] * count)
    return (
        f"SELECT {sql.columns(Product, fields)} FROM {sql.table(Product)} "  # noqa: S608
        f"WHERE {sql.column(Product, 'id')} IN ({placeholders}) "
        f"ORDER BY {sql.column(Product, 'id')}" + (" FOR NO KEY UPDATE" if for_update else "")
    )


def lock_products(product_ids: Iterable[int]) -> dict[int, LockedProduct]:
    """Lock the product rows (ascending id) and return their current, committed values.

    Must run inside a transaction; the rows stay locked until it ends. (SQLite has no row
    locks: its IMMEDIATE transactions already serialise every writer.)
    """
    ids = sorted(set(product_ids))
    if not ids:
        return {}
    query = _lock_sql(len(ids), connection.features.has_select_for_update)
    return {row.id: _locked(row) for row in sql.records(query, ids)}


@dataclass(frozen=True)
class LockedAndBounded:
    products: dict[int, LockedProduct]
    bounds: dict[int, int]  # each product's hold bound after adding the wanted units
    held: bool  # the inventory locks are written: every bound fits in its stock


@cache
def _lock_and_hold_sql() -> str:
    product_id = sql.column(Product, "id")
    hold, hold_product = sql.table(StockHold), sql.column(StockHold, "product")
    hold_quantity = sql.column(StockHold, "quantity")
    fields = ["id", "sku", "name", "stock", "price", "currency", "is_active"]
    lock_columns = sql.columns(
        InventoryLock, ["product", "owner", "quantity", "expires_at", "created_at"]
    )
    # Names only are interpolated; every value is a parameter.
    return f"""
        WITH wanted (product_id, quantity) AS (
            SELECT * FROM unnest(%s::bigint[], %s::integer[])
        ), locked AS (
            SELECT {sql.columns(Product, fields)} FROM {sql.table(Product)}
            WHERE {product_id} IN (SELECT product_id FROM wanted)
            ORDER BY {product_id} FOR NO KEY UPDATE
        ), bounds AS (
            INSERT INTO {hold} ({hold_product}, {hold_quantity})
            SELECT w.product_id, w.quantity
            FROM wanted w JOIN locked l ON l.{product_id} = w.product_id
            ORDER BY w.product_id
            ON CONFLICT ({hold_product})
                DO UPDATE SET {hold_quantity} = {hold}.{hold_quantity} + excluded.{hold_quantity}
            RETURNING {hold_product} AS product_id, {hold_quantity} AS bound
        ), held AS (
            INSERT INTO {sql.table(InventoryLock)} ({lock_columns})
            SELECT w.product_id, %s, w.quantity, %s, %s FROM wanted w
            WHERE (SELECT count(*) FROM locked) = (SELECT count(*) FROM wanted)
              AND NOT EXISTS (
                  SELECT 1 FROM bounds b JOIN locked l ON l.{product_id} = b.product_id
                  WHERE b.bound > l.stock
              )
            ORDER BY w.product_id
            RETURNING 1
        )
        SELECT l.*, b.bound AS bound, (SELECT count(*) FROM held) > 0 AS held
        FROM locked l JOIN bounds b ON b.product_id = l.{product_id}
        ORDER BY l.{product_id}
    """  # noqa: S608


def lock_and_hold(
    wanted: dict[int, int], *, owner: str, expires_at: datetime | None, now: datetime
) -> LockedAndBounded:
    """PostgreSQL: lock the products, raise their hold bounds and, when every bound still fits
    in its stock, write the owner's inventory locks, all in one statement.

    The same steps as ``lock_products``, ``reserve``'s bound upsert and its lock insert, in one
    round trip instead of three: the product rows of a product everyone buys stay locked for
    one statement and the commit, with no Python (and no waiting for the CPU) in between.
    Correct in READ COMMITTED because the statement reads nothing that another checkout could
    have changed without holding the same product lock: a row that ``FOR NO KEY UPDATE``
    waited for is re-read at its latest version, and ``ON CONFLICT DO UPDATE`` always updates
    the latest version of the bound. When ``held`` is false nothing but the bounds was written,
    and the caller takes the exact path.
    """
    ids = sorted(wanted)
    rows = sql.records(
        _lock_and_hold_sql(), [ids, [wanted[pid] for pid in ids], owner, expires_at, now]
    )
    return LockedAndBounded(
        products={row.id: _locked(row) for row in rows},
        bounds={row.id: row.bound for row in rows},
        held=bool(rows) and rows[0].held,
    )


def _locked(row: Any) -> LockedProduct:
    return LockedProduct(
        row.id, row.sku, row.name, row.stock, row.price, row.currency, row.is_active
    )
