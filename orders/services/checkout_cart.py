"""The checkout's cart: one read of everything checkout needs before it writes, and the
consumption of exactly the lines read.

The read is one statement (``cart_read`` → ``parse_cart``): the cart's lines with their
products and hold bounds, the named delivery address, the customer's open unpaid orders, on
PostgreSQL the ids of the rows the order will write, and with ``place_order_once`` the
Idempotency-Key's row. Its rows are parsed by position, so the SELECT list and
``parse_cart`` change together.
"""

from collections.abc import Callable
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from functools import cache
from typing import Any

from django.db import connection
from django.db.models import Model

from config import sql
from inventory.models import StockHold
from inventory.selectors import active_held_sql
from orders import idempotency
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


_PRODUCT_COLUMNS = len(fields(CartProduct))  # as many columns of the cart read, in this order


def _columns_of(model: type[Model], alias: str) -> Callable[[str], str]:
    """``alias.column`` of a field of ``model``, by field name."""
    return lambda name: f"{alias}.{sql.column(model, name)}"


@cache
def _cart_sql(draw_ids: bool, with_key: bool) -> str:
    """The cart's lines with their products, and the address-book entry the order ships to
    (when one is named), in one read. With ``draw_ids`` (PostgreSQL) it also draws the ids of
    the order, its event and one item per cart line, so the order's writes need no answer and
    travel as one statement. With ``with_key`` each line ends with the Idempotency-Key's row
    (``idempotency.joined_lookup_sql``)."""
    c, i, p, h, a = (  # the tables' aliases, then their columns
        _columns_of(model, alias)
        for model, alias in ((Cart, "c"), (CartItem, "i"), (Product, "p"), (StockHold, "h"),
                             (Address, "a"))
    )  # fmt: skip
    bound = f"COALESCE({h('quantity')}, 0)"
    new_ids = (
        f"{sql.next_id_sql(OrderItem)}, (SELECT {sql.next_id_sql(Order)}), "
        f"(SELECT {sql.next_id_sql(OrderEvent)}), "
        if draw_ids
        else ""
    )
    key_columns, key_join = (
        idempotency.joined_lookup_sql("k", c("customer")) if with_key else ("", "")
    )
    return (
        f"SELECT {i('id')}, {i('quantity')}, {i('product')}, {p('sku')}, {p('name')}, "  # noqa: S608
        f"{p('price')}, {p('currency')}, {p('is_active')}, {p('stock')} - {bound}, "
        # Only for a line the bound cannot vouch for: the units free now, summed exactly.
        f"CASE WHEN {p('stock')} - {bound} < {i('quantity')} "
        f"THEN {p('stock')} - {active_held_sql(p('id'))} END, "
        f"{_unpaid_orders_sql()}, "
        f"{new_ids}"
        f"{a('id')}, {', '.join(a(name) for name in Address.POSTAL_FIELDS)}"
        f"{', ' + key_columns if with_key else ''} "
        f"FROM {sql.table(CartItem)} i JOIN {sql.table(Cart)} c ON {c('id')} = {i('cart')} "
        f"JOIN {sql.table(Product)} p ON {p('id')} = {i('product')} "
        f"LEFT JOIN {sql.table(StockHold)} h ON {h('product')} = {p('id')} "
        f"LEFT JOIN {sql.table(Address)} a ON {a('id')} = %s AND {a('customer')} = {c('customer')} "
        f"{key_join} WHERE {c('customer')} = %s ORDER BY {i('product')}, {i('id')}"
    )


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


def cart_read(
    customer: Any, address_id: int | None, now: datetime, key: str | None = None
) -> tuple[str, list[Any]]:
    """The cart read as a statement and its parameters (for ``parse_cart``), with the row of
    the checkout Idempotency-Key ``key`` when one is given."""
    at = connection.ops.adapt_datetimefield_value(now)  # as the ORM stores expires_at
    statement = _cart_sql(connection.vendor == "postgresql", key is not None)
    key_params = [] if key is None else [idempotency.CHECKOUT, key]
    return statement, [at, customer.pk, address_id, *key_params, customer.pk]


def parse_cart(rows: list[tuple[Any, ...]]) -> CheckoutCart:
    draw_ids = connection.vendor == "postgresql"
    if not rows:
        raise CartEmpty()
    quantities: dict[int, int] = {}
    products: dict[int, CartProduct] = {}
    surely_free: dict[int, int] = {}
    free_now: dict[int, int] = {}
    lines: list[tuple[int, int]] = []
    new_item_ids: list[int] = []
    for row in rows:
        item_id, quantity, *rest = row
        product = CartProduct(*rest[:_PRODUCT_COLUMNS])
        free, exactly_free, unpaid_orders, *rest = rest[_PRODUCT_COLUMNS:]
        lines.append((item_id, quantity))
        quantities[product.id] = quantities.get(product.id, 0) + quantity
        products[product.id] = product
        surely_free[product.id] = free
        if exactly_free is not None:
            free_now[product.id] = max(exactly_free, 0)  # staff may cut stock below the held
        if draw_ids:
            new_item_ids.append(rest[0])
    # The new order's and event's ids and the address are the same on every line.
    if draw_ids:
        new_order_id, new_event_id, found_address_id, *postal = rest[1:]
    else:
        found_address_id, *postal = rest
    return CheckoutCart(
        lines=lines,
        quantities=quantities,
        products=products,
        surely_free=surely_free,
        free_now=free_now,
        address=None
        if found_address_id is None
        else dict(zip(Address.POSTAL_FIELDS, postal, strict=True)),
        new_ids=NewIds(order=new_order_id, event=new_event_id, items=new_item_ids)
        if draw_ids
        else None,
        unpaid_orders=unpaid_orders,  # the same on every line
    )


@cache
def _unpaid_orders_sql() -> str:
    """The customer's open unpaid orders, for the cart read: one parameter, the customer id.
    The states are literals so that the partial index ``order_customer_unpaid`` serves it, also
    in a generic (prepared) plan; a parameter, not the cart's column, so that PostgreSQL
    counts once rather than once per cart line."""
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

    The check runs where the write does (on PostgreSQL at the end of the combined writes), so
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
        may_wait=True,
        check=consumed_all,
    )
