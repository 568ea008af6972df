"""Availability reads: available = stock - units held by unexpired locks."""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from typing import TypedDict

from django.db import connection
from django.db.models import F, IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.expressions import Combinable, RawSQL
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django_stubs_ext import WithAnnotations

from inventory.models import InventoryLock, StockHold, active_lock_q
from shop.models import Product


def locked_quantity_subquery(*, now: datetime, exclude_owner: str | None = None) -> Coalesce:
    """Units held by active locks of the product in ``OuterRef("pk")`` (0 when none)."""
    locks = InventoryLock.objects.filter(active_lock_q(now), product=OuterRef("pk"))
    if exclude_owner is not None:
        locks = locks.exclude(owner=exclude_owner)
    total = locks.order_by().values("product").annotate(total=Sum("quantity")).values("total")
    return Coalesce(Subquery(total, output_field=IntegerField()), Value(0))


def available_units(now: datetime) -> Combinable:
    """THE definition of availability: stock on hand minus the units held by active locks,
    never below 0 (staff may lower stock under what is already held). An expression over
    Product rows; shop reads it through ``shop.stock``."""
    return Greatest(F("stock") - locked_quantity_subquery(now=now), Value(0))


class AvailableStock(TypedDict):
    available_stock: int


def annotate_available_stock(
    queryset: QuerySet[Product], *, now: datetime | None = None
) -> "QuerySet[WithAnnotations[Product, AvailableStock]]":
    """Adds ``available_stock`` to every product of the queryset, in the same single query.

    Never below 0 (staff may lower stock under what is already held).
    """
    return queryset.annotate(available_stock=available_units(now or timezone.now()))


def get_available_stocks(product_ids: Iterable[int]) -> dict[int, int]:
    """Available units per product id, in one query. Unknown ids are absent from the result."""
    rows = annotate_available_stock(Product.objects.filter(pk__in=list(product_ids))).values_list(
        "pk", "available_stock"
    )
    return dict(rows)


def get_available_stock(product_id: int) -> int:
    """Available units of one product (0 for an unknown product)."""
    return get_available_stocks([product_id]).get(product_id, 0)


# --- SQL for other apps' hand-written reads (checkout's cart read) -----------------------------
_PRODUCT = "__product_id__"  # where the caller's product id column goes


@cache
def _held_by_active_locks(vendor: str) -> str:
    # ``active_lock_q`` compiled: the one definition of an active lock, also in hand-written SQL.
    placeholder_now = datetime(2000, 1, 1, tzinfo=UTC)
    the_product = RawSQL(_PRODUCT, ())  # noqa: S611 - a constant marker, no input
    held = (
        InventoryLock.objects.filter(active_lock_q(placeholder_now), product_id=the_product)
        .order_by()
        .values("product")
        .annotate(held=Sum("quantity"))
        .values("held")
    )
    statement, _now = held.query.sql_with_params()
    return f"COALESCE(({statement}), 0)"


def held_by_active_locks_sql(product_id_sql: str) -> str:
    """SQL for the units held by active locks of the product ``product_id_sql`` names (one
    parameter: now). Compiled from ``active_lock_q``, so it cannot drift from the ORM's reads."""
    return _held_by_active_locks(connection.vendor).replace(_PRODUCT, product_id_sql)


@dataclass(frozen=True)
class HoldBoundSQL:
    join: str  # a LEFT JOIN to add to the caller's FROM
    units: str  # the bound's units (0 when the product has none yet)


def hold_bound_sql(product_id_sql: str, alias: str = "hold") -> HoldBoundSQL:
    """The hold bound of the product ``product_id_sql`` names, for a hand-written read: an
    upper bound of the units its locks hold (``StockHold``), so stock minus it is a lower
    bound of the units free, read without a lock."""
    quote = connection.ops.quote_name
    table, product, quantity = (
        quote(StockHold._meta.db_table),
        quote(StockHold._meta.get_field("product").column),
        quote(StockHold._meta.get_field("quantity").column),
    )
    return HoldBoundSQL(
        join=f"LEFT JOIN {table} {alias} ON {alias}.{product} = {product_id_sql}",
        units=f"COALESCE({alias}.{quantity}, 0)",
    )


def active_locked_quantities(
    product_ids: Iterable[int], *, now: datetime, exclude_owner: str | None = None
) -> dict[int, int]:
    """Units held by active locks per product, in one aggregate query."""
    locks = InventoryLock.objects.filter(active_lock_q(now), product_id__in=list(product_ids))
    if exclude_owner is not None:
        locks = locks.exclude(owner=exclude_owner)
    rows = locks.order_by().values("product_id").annotate(total=Sum("quantity"))
    return {row["product_id"]: row["total"] for row in rows}


def all_locked_quantities(product_ids: Iterable[int]) -> dict[int, int]:
    """Units of every lock per product, expired or not (what the hold bound must cover)."""
    rows = (
        InventoryLock.objects.filter(product_id__in=list(product_ids))
        .order_by()
        .values("product_id")
        .annotate(total=Sum("quantity"))
    )
    return {row["product_id"]: row["total"] for row in rows}


def locks_of(owner: str) -> QuerySet[InventoryLock]:
    return InventoryLock.objects.filter(owner=owner)
