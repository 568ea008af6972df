"""Checkout's cart: one read of everything checkout needs before it writes, and the consumption
of exactly the lines read.

The read is one statement: the cart's lines with their products and what inventory says is
free, the named delivery address, the customer's open unpaid orders and, on PostgreSQL, the ids
of the rows the order will write (so its writes need no answer and travel as one statement).
Rows come back as records named by the statement's columns.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Model

from core import sql
from inventory.selectors import held_by_active_locks_sql, hold_bound_sql
from orders.errors import CartChanged, CartEmpty
from orders.models import Order, OrderEvent, OrderItem
from orders.states import UNPAID_STATES
from shop.models import Address, Cart, CartItem, Product


@dataclass(frozen=True)
class CartProduct:
    """A product as the cart read saw it, before any lock."""

    id: int
    sku: str
    name: str
    price: Decimal
    currency: str
    is_active: bool


@dataclass(frozen=True)
class NewIds:
    order: int
    event: int
    items: list[int]  # one per cart line, at least one per product


@dataclass(frozen=True)
class CheckoutCart:
    lines: list[tuple[int, int]]  # (cart item id, quantity) as read: what the order consumes
    quantities: dict[int, int]  # per product, lines of the same product added up
    products: dict[int, CartProduct]
    # Per product: stock minus its hold bound (an upper bound of the units held), so a
    # lower bound of what is free, read without a lock.
    surely_free: dict[int, int]
    free_now: dict[int, int]  # exact, read where ``surely_free`` fell short of a line
    address: dict[str, str] | None  # the named address-book entry, if it is the customer's
    new_ids: NewIds | None  # PostgreSQL only
    unpaid_orders: int  # the customer's open unpaid orders at the read


def read_cart(customer: Any, address_id: int | None, now: datetime) -> CheckoutCart:
    """The customer's cart as checkout needs it; raises ``CartEmpty``."""
    at = connection.ops.adapt_datetimefield_value(now)  # as the ORM stores expires_at
    # Writes the caller holds (an Idempotency-Key's claim) wait for the order's own: a
    # request refused on this read then writes nothing at all.
    rows = sql.records(
        _cart_sql(connection.vendor),
        [at, customer.pk, address_id, customer.pk],
        send_held_writes=False,
    )
    if not rows:
        raise CartEmpty()
    quantities: dict[int, int] = {}
    products: dict[int, CartProduct] = {}
    surely_free: dict[int, int] = {}
    free_now: dict[int, int] = {}
    for row in rows:
        product = CartProduct(
            row.product_id, row.sku, row.name, row.price, row.currency, row.is_active
        )
        quantities[product.id] = quantities.get(product.id, 0) + row.quantity
        products[product.id] = product
        surely_free[product.id] = row.surely_free
        if row.free_now is not None:
            free_now[product.id] = max(row.free_now, 0)  # staff may cut stock below the held
    first = rows[0]  # the order's ids, the address and the unpaid count are on every line
    return CheckoutCart(
        lines=[(row.line_id, row.quantity) for row in rows],
        quantities=quantities,
        products=products,
        surely_free=surely_free,
        free_now=free_now,
        address=None
        if first.address_id is None
        else {name: getattr(first, f"address_{name}") for name in Address.POSTAL_FIELDS},
        new_ids=NewIds(first.new_order_id, first.new_event_id, [row.new_item_id for row in rows])
        if connection.vendor == "postgresql"
        else None,
        unpaid_orders=first.unpaid_orders,
    )


def _columns_of(model: type[Model], alias: str) -> Callable[[str], str]:
    """``alias.column`` of a field of ``model``, by field name."""
    return lambda name: f"{alias}.{sql.column(model, name)}"


@cache
def _cart_sql(vendor: str) -> str:
    """One read of the lines, their products, what is free, the address and the new ids. With
    PostgreSQL it also draws the ids of the order, its event and one item per line."""
    c, i, p, a = (
        _columns_of(model, alias)
        for model, alias in ((Cart, "c"), (CartItem, "i"), (Product, "p"), (Address, "a"))
    )
    bound = hold_bound_sql(p("id"))
    surely_free = f"{p('stock')} - {bound.units}"
    new_ids = (
        f"{sql.next_id_sql(OrderItem)} AS new_item_id, "
        f"(SELECT {sql.next_id_sql(Order)}) AS new_order_id, "
        f"(SELECT {sql.next_id_sql(OrderEvent)}) AS new_event_id, "
        if vendor == "postgresql"
        else ""
    )
    postal = ", ".join(f"{a(name)} AS address_{name}" for name in Address.POSTAL_FIELDS)
    return (
        f"SELECT {i('id')} AS line_id, {i('quantity')} AS quantity, {p('id')} AS product_id, "  # noqa: S608
        f"{p('sku')} AS sku, {p('name')} AS name, {p('price')} AS price, "
        f"{p('currency')} AS currency, {p('is_active')} AS is_active, "
        f"{surely_free} AS surely_free, "
        # Only for a line the bound cannot vouch for: the units free now, summed exactly.
        f"CASE WHEN {surely_free} < {i('quantity')} "
        f"THEN {p('stock')} - {held_by_active_locks_sql(p('id'))} END AS free_now, "
        f"{_unpaid_orders_sql()} AS unpaid_orders, {new_ids}"
        f"{a('id')} AS address_id, {postal} "
        f"FROM {sql.table(CartItem)} i JOIN {sql.table(Cart)} c ON {c('id')} = {i('cart')} "
        f"JOIN {sql.table(Product)} p ON {p('id')} = {i('product')} {bound.join} "
        f"LEFT JOIN {sql.table(Address)} a ON {a('id')} = %s AND {a('customer')} = {c('customer')} "
        f"WHERE {c('customer')} = %s ORDER BY {i('product')}, {i('id')}"
    )


@cache
def _unpaid_orders_sql() -> str:
    """The customer's open unpaid orders (one parameter: the customer id). The states are
    literals so that the partial index ``order_customer_unpaid`` serves it, also in a generic
    (prepared) plan; a parameter, not the cart's column, so PostgreSQL counts once."""
    states = ", ".join(f"'{state}'" for state in UNPAID_STATES)  # our own constants
    customer, state = sql.column(Order, "customer"), sql.column(Order, "state")
    return (
        f"(SELECT count(*) FROM {sql.table(Order)} "  # noqa: S608
        f"WHERE {customer} = %s AND {state} IN ({states}))"
    )


@cache
def _consume_sql(count: int) -> str:
    item_id, quantity = sql.column(CartItem, "id"), sql.column(CartItem, "quantity")
    placeholders = ", ".join(["%s"] * count)
    cases = " ".join(["WHEN %s THEN %s"] * count)
    return (
        f"DELETE FROM {sql.table(CartItem)} "  # noqa: S608 (names and placeholders only)
        f"WHERE {item_id} IN ({placeholders}) AND {quantity} = CASE {item_id} {cases} END"
    )


def consume_cart_lines(lines: list[tuple[int, int]]) -> None:
    """Delete exactly the cart lines the order was made of, each with the quantity read, or
    fail the checkout with ``cart_changed``: a line gone (another checkout consumed it, or the
    customer removed it) or with another quantity means this order is not what the cart holds.
    Not "empty the cart": a line added by another tab meanwhile stays, unbought. Concurrent
    checkouts of one cart queue on the lines' row locks; the later one finds them gone.

    The check runs where the write does (on PostgreSQL with the checkout's other writes), so
    the transaction rolls back whole: no order, no stock held, no Idempotency-Key row."""
    expected = len(lines)

    def consumed_all(deleted: int) -> None:
        if deleted != expected:
            raise CartChanged(details={"lines_read": expected, "lines_consumed": deleted})

    # Not QuerySet.delete(): its deletion collector (cascades, signals; cart lines have
    # neither) cost more than the statement.
    sql.execute(
        _consume_sql(expected),
        [*(item_id for item_id, _ in lines), *(v for line in lines for v in line)],
        deferrable=True,
        check=consumed_all,
    )
