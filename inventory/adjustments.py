"""Staff changes of stock: explicit adjustments and a new product's initial stock.

No form writes a stock figure back: staff add or remove units, or set a counted figure
together with the figure they saw, and the change is decided under the product's row lock
(``inventory.locks``) and recorded in the ledger (``inventory.ledger``), like sales and
restocks. A "set" over a stock that moved since the editor looked (a sale, another edit) is
refused with the current figure instead of overwriting it.
"""

from typing import Any

from django.db import transaction

from inventory.errors import (
    ProductNotFound,
    StockAdjustmentInvalid,
    StockChanged,
    StockNegative,
    StockReasonRequired,
)
from inventory.ledger import apply_stock_change, record_movements
from inventory.locks import lock_products
from inventory.models import MovementKind, StockMovement
from shop.models import Product

MAX_STOCK = 2**31 - 1  # Product.stock's column (a PostgreSQL integer)


def adjust_stock(
    *,
    product_id: int,
    delta: int | None = None,
    set_to: int | None = None,
    expected_stock: int | None = None,
    reason: str,
    actor: Any = None,
) -> StockMovement | None:
    """Add (``delta`` > 0) or remove (``delta`` < 0) units, or ``set_to`` a counted figure,
    which needs ``expected_stock``, the stock the editor saw. Returns the ledger row (None when
    ``set_to`` is the stock already: nothing changed).

    Raises ``StockReasonRequired``, ``StockAdjustmentInvalid``, ``ProductNotFound``,
    ``StockChanged`` (the stock is no longer ``expected_stock``) or ``StockNegative`` (the
    result would be below zero); then nothing changes.
    """
    reason = (reason or "").strip()
    if not reason:
        raise StockReasonRequired()
    _check_arguments(delta, set_to, expected_stock)
    with transaction.atomic():
        locked = lock_products([product_id])
        if product_id not in locked:
            raise ProductNotFound(details={"product_ids": [product_id]})
        stock = locked[product_id].stock
        if set_to is None:
            change = int(delta or 0)
        elif stock != expected_stock:
            raise StockChanged(details={"current_stock": stock, "expected_stock": expected_stock})
        else:
            change = set_to - stock
        if change == 0:
            return None
        if stock + change < 0:
            raise StockNegative(details={"current_stock": stock, "delta": change})
        if stock + change > MAX_STOCK:
            raise StockAdjustmentInvalid(
                f"Stock cannot exceed {MAX_STOCK}.", details={"current_stock": stock}
            )
        (movement,) = apply_stock_change(
            locked, {product_id: change}, kind=MovementKind.ADJUSTMENT, actor=actor, reason=reason
        )
    return movement


def _check_arguments(delta: Any, set_to: Any, expected_stock: Any) -> None:
    if delta is not None and set_to is None:
        if not _is_whole(delta) or delta == 0 or expected_stock is not None:
            raise StockAdjustmentInvalid(
                "Give a non-zero whole number of units to add or remove.",
                details={"delta": delta},
            )
    elif set_to is not None and delta is None:
        if not (_is_whole(set_to) and 0 <= set_to <= MAX_STOCK and _is_whole(expected_stock)):
            raise StockAdjustmentInvalid(
                "Setting the stock needs the new figure (0 or more) and the stock you saw.",
                details={"set_to": set_to, "expected_stock": expected_stock},
            )
    else:
        raise StockAdjustmentInvalid(details={"delta": delta, "set_to": set_to})


def _is_whole(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def create_product(*, product: Product, actor: Any = None, reason: str = "") -> Product:
    """Save a new product; its initial stock, if any, is the first row of its ledger."""
    if product.pk is not None:
        raise ValueError("create_product saves new products only.")
    with transaction.atomic():
        product.save()
        if product.stock:
            record_movements(
                {product.pk: 0},
                {product.pk: product.stock},
                kind=MovementKind.INITIAL,
                actor=actor,
                reason=reason,
            )
    return product
