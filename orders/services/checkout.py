"""Placing an order from the customer's cart.

Lock-free work first (read the cart, the address and the settings), then one short transaction:
lock the cart's product rows in id order, check availability, write the locks, the order, its
items and its event, and clear the cart. Prices are taken from the rows read under the lock,
so the order is priced with what is in the database at that instant. The statement count is
constant in cart size (bulk inserts, one aggregate).
"""

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from django.db import transaction
from django.utils import timezone

from config import sql
from inventory import services as inventory
from inventory.locks import LockedProduct
from inventory.models import StockHold
from orders.errors import CartEmpty, PriceChanged
from orders.events import record_event
from orders.models import Order, OrderItem
from orders.payment_methods import PaymentMethod, get_payment_method
from orders.states import ActorType
from shop.errors import CurrencyMismatch, ProductInactive
from shop.models import Address, Cart, CartItem, Product
from shop.selectors import address_snapshot_for_customer
from shop.services import address_create

# Crockford's base32 without the look-alikes (I, L, O, U): easy to read out over the phone.
_NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_NUMBER_LENGTH = 10  # 50 random bits: a collision needs ~10^7 orders for a 1-in-10^8 chance


def new_order_number() -> str:
    return "ORD-" + "".join(secrets.choice(_NUMBER_ALPHABET) for _ in range(_NUMBER_LENGTH))


@dataclass(frozen=True)
class PlacedOrder:
    order: Order
    items: list[OrderItem]
    payment_method: PaymentMethod


@dataclass(frozen=True)
class _CartProduct:
    """A product as the cart read saw it, before any lock."""

    id: int
    sku: str
    name: str
    price: Decimal
    currency: str
    is_active: bool


def place_order(
    *,
    customer: Any,
    payment_method: str,
    address_id: int | None = None,
    new_address: Mapping[str, Any] | None = None,
    save_address: bool = False,
    expected_total: Decimal | None = None,
    note: str = "",
    on_placed: Callable[[PlacedOrder], None] | None = None,
) -> PlacedOrder:
    """Turn the customer's cart into a ``pending_payment`` order holding its stock.

    ``new_address`` must already be validated (shop's ``AddressInputSerializer``); with
    ``save_address`` it is also added to the customer's address book. ``on_placed`` runs inside
    the transaction once the order is written: the API stores the idempotent response with it.

    The product rows are locked last, so they are held only for the stock check and the lock
    insert (three statements), not for the order's own writes: that is what bounds the
    throughput of a product everyone buys at once. Prices are read before the lock and
    verified under it; a price that moved in between answers ``price_changed``.

    Raises ``CartEmpty``, ``AddressNotFound``, ``PaymentMethodNotAllowed``, ``ProductInactive``,
    ``CurrencyMismatch``, ``InsufficientStock`` or ``PriceChanged``; then nothing is written.
    """
    method = get_payment_method(payment_method)
    cart = _read_cart(customer)
    quantities, products = cart.quantities, cart.products
    currency = _check_sellable(products)
    subtotal = sum((products[pid].price * qty for pid, qty in quantities.items()), ZERO)
    shipping, discount = ZERO, ZERO
    total = subtotal + shipping - discount
    if expected_total is not None and Decimal(expected_total) != total:
        raise _price_changed(expected_total, total, currency)
    address_snapshot = _address_snapshot(customer, address_id, new_address)
    now = timezone.now()
    _refuse_early_when_sold_out(cart, now)

    number = new_order_number()
    order_expires_at = method.order_expires_at(now)
    lock_expires_at = method.lock_expires_at(now, order_expires_at)

    with transaction.atomic():
        if new_address is not None and save_address:
            address_create(customer=customer, data=dict(new_address))
        order = Order(
            number=number,
            customer=customer,
            payment_status=method.initial_payment_status,
            payment_method=method.code,
            currency=currency,
            subtotal=subtotal,
            shipping=shipping,
            discount=discount,
            total=total,
            shipping_address=address_snapshot,
            note=note,
            expires_at=order_expires_at,
            created_at=now,
        )
        sql.insert([order])
        items = [
            OrderItem(
                order=order,
                product_id=pid,
                sku=products[pid].sku,
                name=products[pid].name,
                unit_price=products[pid].price,
                quantity=qty,
                line_total=products[pid].price * qty,
            )
            for pid, qty in sorted(quantities.items())
        ]
        sql.insert(items)
        record_event(
            order=order,
            kind="placed",
            actor_type=ActorType.CUSTOMER,
            actor=customer,
            payload={
                "payment_method": method.code,
                "total": str(total),
                "currency": currency,
                "locks_expire_at": lock_expires_at.isoformat() if lock_expires_at else None,
            },
            items=items,
        )
        _delete_cart_items(cart.item_ids)
        placed = PlacedOrder(order=order, items=items, payment_method=method)
        if on_placed is not None:
            on_placed(placed)
        # Last: lock the product rows (ascending id), check and hold the stock.
        locked = inventory.reserve(
            lines=quantities, owner=number, expires_at=lock_expires_at, now=now
        )
        _verify_unchanged(products, locked, quantities, expected_total or total)
    return placed


ZERO = Decimal("0.00")


@cache
def _cart_sql() -> str:
    item, product, cart, hold = "i.", "p.", "c.", "h."
    return (
        f"SELECT {sql.columns(CartItem, ['id', 'quantity', 'product'], item)}, "  # noqa: S608
        f"{sql.columns(Product, ['sku', 'name', 'price', 'currency', 'is_active'], product)}, "
        f"{product}{sql.column(Product, 'stock')} - "
        f"COALESCE({hold}{sql.column(StockHold, 'quantity')}, 0) "
        f"FROM {sql.table(CartItem)} i "
        f"JOIN {sql.table(Cart)} c ON {cart}{sql.column(Cart, 'id')} = {item}"
        f"{sql.column(CartItem, 'cart')} "
        f"JOIN {sql.table(Product)} p ON {product}{sql.column(Product, 'id')} = {item}"
        f"{sql.column(CartItem, 'product')} "
        f"LEFT JOIN {sql.table(StockHold)} h ON {hold}{sql.column(StockHold, 'product')} = "
        f"{product}{sql.column(Product, 'id')} "
        f"WHERE {cart}{sql.column(Cart, 'customer')} = %s "
        f"ORDER BY {item}{sql.column(CartItem, 'product')}, {item}{sql.column(CartItem, 'id')}"
    )


@dataclass(frozen=True)
class _Cart:
    item_ids: list[int]
    quantities: dict[int, int]  # per product, lines of the same product added up
    products: dict[int, _CartProduct]
    # Per product: stock minus its hold bound (an upper bound of the units held), so a
    # lower bound of what is free, read without a lock.
    surely_free: dict[int, int]


def _read_cart(customer: Any) -> _Cart:
    cart = _Cart(item_ids=[], quantities={}, products={}, surely_free={})
    for item_id, quantity, *product, surely_free in sql.fetch_all(_cart_sql(), [customer.pk]):
        cart.item_ids.append(item_id)
        cart.quantities[product[0]] = cart.quantities.get(product[0], 0) + quantity
        cart.products[product[0]] = _CartProduct(*product)
        cart.surely_free[product[0]] = surely_free
    if not cart.item_ids:
        raise CartEmpty()
    return cart


def _refuse_early_when_sold_out(cart: _Cart, now: datetime) -> None:
    """Answer ``insufficient_stock`` before writing anything when the committed stock already
    falls short: after a sell-out every further buyer is refused here, in two reads, instead of
    writing an order and rolling it back. Lines whose stock surely covers them cost nothing;
    a pass here proves nothing (``reserve`` checks again under the lock)."""
    doubtful = {pid: qty for pid, qty in cart.quantities.items() if cart.surely_free[pid] < qty}
    if doubtful:
        inventory.refuse_if_short(doubtful, now=now)


def _delete_cart_items(item_ids: list[int]) -> None:
    # Not QuerySet.delete(): its deletion collector (cascades, signals; cart lines have
    # neither) cost more than the statement.
    placeholders = ", ".join(["%s"] * len(item_ids))
    sql.execute(
        f"DELETE FROM {sql.table(CartItem)} "  # noqa: S608 (names and placeholders only)
        f"WHERE {sql.column(CartItem, 'id')} IN ({placeholders})",
        item_ids,
    )


def _price_changed(expected: Decimal, current: Decimal, currency: str) -> PriceChanged:
    return PriceChanged(
        details={
            "expected_total": f"{Decimal(expected):.2f}",
            "current_total": f"{current:.2f}",
            "currency": currency,
        }
    )


def _verify_unchanged(
    seen: dict[int, _CartProduct],
    locked: dict[int, LockedProduct],
    quantities: dict[int, int],
    expected_total: Decimal,
) -> None:
    """Under the lock: the products are still sold at the prices the order was written with."""

    def terms(p: _CartProduct | LockedProduct) -> tuple[Decimal, str, bool]:
        return (p.price, p.currency, p.is_active)

    if all(terms(locked[pid]) == terms(seen[pid]) for pid in seen):
        return
    now_sold = {
        pid: _CartProduct(p.id, p.sku, p.name, p.price, p.currency, p.is_active)
        for pid, p in locked.items()
    }
    currency = _check_sellable(now_sold)
    current = sum((now_sold[pid].price * qty for pid, qty in quantities.items()), ZERO)
    raise _price_changed(expected_total, current, currency)


def _address_snapshot(
    customer: Any, address_id: int | None, new_address: Mapping[str, Any] | None
) -> dict[str, str]:
    if new_address is not None:
        return {field: str(new_address.get(field) or "") for field in Address.POSTAL_FIELDS}
    return address_snapshot_for_customer(customer=customer, address_id=address_id)


def _check_sellable(products: Mapping[int, _CartProduct]) -> str:
    inactive = sorted(pid for pid in products if not products[pid].is_active)
    if inactive:
        raise ProductInactive(
            "Some products in the cart are not for sale any more.",
            details={"products": [{"product_id": p, "sku": products[p].sku} for p in inactive]},
        )
    currencies = sorted({product.currency for product in products.values()})
    if len(currencies) != 1:
        raise CurrencyMismatch(
            "The cart mixes currencies; an order is paid in one currency.",
            details={"currencies": currencies},
        )
    return currencies[0]
