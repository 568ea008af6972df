"""Row-lock helpers: every product row lock in the code base is taken here, in id order.

Locking in ascending id order means two transactions that need overlapping products always
queue in the same order and never deadlock. ``FOR NO KEY UPDATE`` is enough (we never change
the key) and, unlike ``FOR UPDATE``, it does not block inserts of rows that reference the
product (cart lines, inventory locks, order items) in other transactions.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal

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


def lock_products(product_ids: Iterable[int]) -> dict[int, LockedProduct]:
    """Lock the product rows (ascending id) and return their current, committed values.

    Must run inside a transaction; the rows stay locked until it ends.
    """
    rows = (
        Product.objects.filter(pk__in=sorted(set(product_ids)))
        .order_by("pk")
        .select_for_update(no_key=True, of=("self",))
        .values_list("pk", "sku", "name", "stock", "price", "currency", "is_active")
    )
    return {row[0]: LockedProduct(*row) for row in rows}
