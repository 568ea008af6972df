"""Availability reads: available = stock - units held by unexpired locks."""

from collections.abc import Iterable
from datetime import datetime
from typing import TypedDict

from django.db.models import F, IntegerField, OuterRef, QuerySet, Subquery, Sum, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone
from django_stubs_ext import WithAnnotations

from config import sql
from inventory.models import InventoryLock, active_lock_q
from shop.models import Product


def locked_quantity_subquery(*, now: datetime, exclude_owner: str | None = None) -> Coalesce:
    """Units held by active locks of the product in ``OuterRef("pk")`` (0 when none)."""
    locks = InventoryLock.objects.filter(active_lock_q(now), product=OuterRef("pk"))
    if exclude_owner is not None:
        locks = locks.exclude(owner=exclude_owner)
    total = locks.order_by().values("product").annotate(total=Sum("quantity")).values("total")
    return Coalesce(Subquery(total, output_field=IntegerField()), Value(0))


class AvailableStock(TypedDict):
    available_stock: int


def annotate_available_stock(
    queryset: QuerySet[Product], *, now: datetime | None = None
) -> "QuerySet[WithAnnotations[Product, AvailableStock]]":
    """Adds ``available_stock`` to every product of the queryset, in the same single query.

    Never below 0 (staff may lower stock under what is already held).
    """
    now = now or timezone.now()
    return queryset.annotate(
        available_stock=Greatest(F("stock") - locked_quantity_subquery(now=now), Value(0)),
    )


def get_available_stocks(product_ids: Iterable[int]) -> dict[int, int]:
    """Available units per product id, in one query. Unknown ids are absent from the result."""
    rows = annotate_available_stock(Product.objects.filter(pk__in=list(product_ids))).values_list(
        "pk", "available_stock"
    )
    return dict(rows)


def get_available_stock(product_id: int) -> int:
    """Available units of one product (0 for an unknown product)."""
    return get_available_stocks([product_id]).get(product_id, 0)


def active_held_sql(product_id_column: str) -> str:
    """SQL for "units held by active locks of the product in ``product_id_column``", for a
    hand-written query: the twin of ``active_lock_q``, with one parameter (now)."""
    lock, expires = InventoryLock, "l." + sql.column(InventoryLock, "expires_at")
    return (
        f"(SELECT COALESCE(SUM(l.{sql.column(lock, 'quantity')}), 0) "  # noqa: S608 (names)
        f"FROM {sql.table(lock)} l WHERE l.{sql.column(lock, 'product')} = {product_id_column} "
        f"AND ({expires} IS NULL OR {expires} > %s))"
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
