"""Putting an order's units back on stock (a cancellation, a refund that restocks)."""

from collections.abc import Mapping
from typing import Any

from inventory import services as inventory
from inventory.models import MovementKind
from orders.errors import RefundInvalid
from orders.models import Order, OrderItem


def restock_everything(order: Order, *, actor: Any, reason: str) -> list[dict[str, int]]:
    """A cancellation puts back every unit not restocked yet."""
    items = list(order.items.filter(product__isnull=False))
    return restock_units(
        order,
        {item.pk: item.quantity - item.quantity_restocked for item in items},
        kind=MovementKind.RESTOCK_CANCEL,
        actor=actor,
        reason=reason,
    )


def restock_units(
    order: Order, quantities: Mapping[int, int], *, kind: str, actor: Any = None, reason: str = ""
) -> list[dict[str, int]]:
    """Put units of the order's items back on stock (ledger ``kind``: a cancel or a refund);
    returns what was restocked."""
    wanted = {int(item_id): int(qty) for item_id, qty in quantities.items() if int(qty) != 0}
    if not wanted:
        return []
    if not order.stock_deducted:
        raise RefundInvalid(
            "Nothing to restock: this order's stock was never deducted.",
            details={"restock": {str(k): v for k, v in wanted.items()}},
        )
    items = {item.pk: item for item in order.items.filter(pk__in=list(wanted))}
    problems = [
        {"item_id": item_id, "requested": qty, "restockable": restockable(items.get(item_id))}
        for item_id, qty in wanted.items()
        if qty < 0 or item_id not in items or qty > restockable(items[item_id])
    ]
    if problems:
        raise RefundInvalid(
            "Some items cannot be restocked that much.", details={"items": problems}
        )
    # (item, product, units); every product is known: ``restockable`` refused the rest.
    moved = [(i, pid, q) for i, q in wanted.items() if (pid := items[i].product_id) is not None]
    inventory.restore(
        lines=[(pid, q) for _, pid, q in moved],
        kind=kind,
        order_number=order.number,
        actor=actor,
        reason=reason,
    )
    for item_id, qty in wanted.items():
        items[item_id].quantity_restocked += qty
    OrderItem.objects.bulk_update(list(items.values()), ["quantity_restocked"])
    return [{"item_id": i, "product_id": pid, "quantity": q} for i, pid, q in moved]


def restockable(item: OrderItem | None) -> int:
    if item is None or item.product_id is None:
        return 0
    return item.quantity - item.quantity_restocked
