"""Placing an order from the customer's cart.

Lock-free work first: one read of the cart, its products and the delivery address (on
PostgreSQL it also draws the new rows' ids; ``place_order_once`` reads the Idempotency-Key's row
in the same round trip), the settings, the totals and, near a sell-out, an early refusal.
Then one short transaction: the order, its items, its event, its messages, the
emptied cart lines and the completed idempotency key (one statement on PostgreSQL, see
``config.sql.combined_writes``), and last the stock: lock the product rows in id order, check
and hold (one statement on PostgreSQL, ``inventory.locks.lock_and_hold``). Prices are verified
against the rows read under the lock. The statement count is constant in cart size.
"""

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields
from datetime import datetime
from decimal import Decimal
from functools import cache
from http import HTTPStatus
from typing import Any

from django.db import connection, transaction
from django.utils import timezone

from config import sql
from inventory import services as inventory
from inventory.locks import LockedProduct
from inventory.models import StockHold
from inventory.selectors import active_held_sql
from orders import idempotency
from orders.errors import CartChanged, CartEmpty, PriceChanged, TooManyUnpaidOrders
from orders.events import record_event
from orders.models import Order, OrderEvent, OrderItem
from orders.payment_methods import PaymentMethod, get_payment_method
from orders.states import UNPAID_STATES, ActorType
from shop.errors import AddressNotFound, CurrencyMismatch, ProductInactive
from shop.models import Address, Cart, CartItem, Product
from shop.platform_settings import get_setting
from shop.services import address_create

# Crockford's base32 without the look-alikes (I, L, O, U): easy to read out over the phone.
_NUMBER_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
_NUMBER_LENGTH = 10  # 50 random bits: a collision needs ~10^7 orders for a 1-in-10^8 chance


def new_order_number() -> str:
    # One draw of 50 random bits, five per character: 32 ** 10 == 2 ** 50, so every number is
    # equally likely (one read of the system's random source, not one per character).
    bits = secrets.randbits(5 * _NUMBER_LENGTH)
    digits = [_NUMBER_ALPHABET[(bits >> (5 * i)) & 31] for i in range(_NUMBER_LENGTH)]
    return "ORD-" + "".join(digits)


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


_PRODUCT_COLUMNS = len(fields(_CartProduct))  # as many columns of the cart read, in this order


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
    the transaction once the order is written.

    The product rows are locked last, so they are held only for the stock check and the lock
    insert (one statement on PostgreSQL) and the commit, not for the order's own writes: that
    is what bounds the throughput of a product everyone buys at once. Prices are read before
    the lock and verified under it; a price that moved in between answers ``price_changed``.

    Raises ``CartEmpty``, ``TooManyUnpaidOrders``, ``AddressNotFound``,
    ``PaymentMethodNotAllowed``, ``ProductInactive``, ``CurrencyMismatch``,
    ``InsufficientStock``, ``PriceChanged`` or ``CartChanged`` (the lines read were no longer
    all there, with the quantities read, when the order consumed them); then nothing is
    written.
    """
    method = get_payment_method(payment_method)
    now = timezone.now()
    read = _cart_read(customer, address_id if new_address is None else None, now)
    cart = _parse_cart(sql.fetch_all(*read))
    order = _prepare(cart, customer, method, now, address_id, new_address, expected_total, note)
    return _write(order, save_address=save_address, on_placed=on_placed)


@dataclass(frozen=True)
class PlacedOnce:
    placed: PlacedOrder
    body: dict[str, Any]  # the response stored with the key, replayed on a retry


def place_order_once(
    *,
    customer: Any,
    key: str,
    fingerprint: str,
    render: Callable[[PlacedOrder], dict[str, Any]],
    payment_method: str,
    address_id: int | None = None,
    new_address: Mapping[str, Any] | None = None,
    save_address: bool = False,
    expected_total: Decimal | None = None,
    note: str = "",
) -> PlacedOnce | idempotency.Replay:
    """``place_order`` under an Idempotency-Key (``orders.idempotency``): the first request
    with ``key`` places the order and stores ``render(placed)`` with the key in the same
    transaction; a retry with the same ``fingerprint`` gets the stored response back.

    The key's row is read with the cart, in one statement, and written with the order, in
    the same transaction (on PostgreSQL the same statement). A request refused before the
    transaction (an empty cart, a product sold out, a price that moved…) writes nothing at
    all, and one refused inside it leaves no key behind: the client may retry with the key.

    Raises what ``place_order`` raises, and ``IdempotencyKeyReused`` or ``RequestInProgress``.
    """
    now = timezone.now()
    rows = sql.fetch_all(
        *_cart_read(customer, address_id if new_address is None else None, now, key)
    )
    width = idempotency.LOOKUP_WIDTH
    if rows:
        key_rows = [row[-width:] for row in rows[:1] if row[-width] is not None]
        cart_rows = [row[:-width] for row in rows]
    else:  # an empty cart, or the retry of an order placed (that emptied the cart)
        key_rows, cart_rows = sql.fetch_all(*idempotency.lookup(customer=customer, key=key)), []
    replay = idempotency.settle(key_rows, fingerprint=fingerprint, now=now)
    if replay is not None:
        return replay
    method = get_payment_method(payment_method)
    cart = _parse_cart(cart_rows)
    order = _prepare(cart, customer, method, now, address_id, new_address, expected_total, note)
    stored: dict[str, Any] = {}

    def record(placed: PlacedOrder) -> None:
        stored["body"] = render(placed)
        idempotency.record_response(
            customer=customer,
            key=key,
            fingerprint=fingerprint,
            status=HTTPStatus.CREATED.value,
            body=stored["body"],
            order=placed.order,
            now=now,
        )

    try:
        placed = _write(order, save_address=save_address, on_placed=record)
    except idempotency.KeyTaken:  # a request with the key runs or finished meanwhile
        return idempotency.answer_taken(
            customer=customer, key=key, fingerprint=fingerprint, now=now
        )
    return PlacedOnce(placed=placed, body=stored["body"])


@dataclass(frozen=True)
class _NewOrder:
    """An order checked against the cart read and built (not saved), ready to be written."""

    placed: PlacedOrder
    cart: "_Cart"
    now: datetime
    lock_expires_at: datetime | None
    expected_total: Decimal  # what the prices under the lock must still add up to
    new_address: Mapping[str, Any] | None


def _prepare(
    cart: "_Cart",
    customer: Any,
    method: PaymentMethod,
    now: datetime,
    address_id: int | None,
    new_address: Mapping[str, Any] | None,
    expected_total: Decimal | None,
    note: str,
) -> _NewOrder:
    """Every check the lock-free read allows, then the order and its items, unsaved."""
    _refuse_over_unpaid_limit(cart)
    quantities, products, new_ids = cart.quantities, cart.products, cart.new_ids
    currency = _check_sellable(products)
    subtotal = sum((products[pid].price * qty for pid, qty in quantities.items()), ZERO)
    shipping, discount = ZERO, ZERO
    total = subtotal + shipping - discount
    if expected_total is not None and Decimal(expected_total) != total:
        raise _price_changed(expected_total, total, currency)
    address_snapshot = _address_snapshot(cart, address_id, new_address)
    _refuse_early_when_sold_out(cart)

    order_expires_at = method.order_expires_at(now)
    order = Order(
        id=new_ids.order if new_ids else None,
        number=new_order_number(),
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
    items = [
        OrderItem(
            id=new_ids.items[line] if new_ids else None,
            order=order,
            product_id=pid,
            sku=products[pid].sku,
            name=products[pid].name,
            unit_price=products[pid].price,
            quantity=qty,
            line_total=products[pid].price * qty,
        )
        for line, (pid, qty) in enumerate(sorted(quantities.items()))
    ]
    return _NewOrder(
        placed=PlacedOrder(order=order, items=items, payment_method=method),
        cart=cart,
        now=now,
        lock_expires_at=method.lock_expires_at(now, order_expires_at),
        expected_total=expected_total or total,
        new_address=new_address,
    )


def _write(
    new: _NewOrder, *, save_address: bool, on_placed: Callable[[PlacedOrder], None] | None
) -> PlacedOrder:
    placed, cart = new.placed, new.cart
    with transaction.atomic():
        if new.new_address is not None and save_address:
            address_create(customer=placed.order.customer, data=dict(new.new_address))
        # PostgreSQL: the order's six writes (one statement) and lock-check-hold (one
        # statement) in one round trip.
        with sql.combined_writes():
            _write_order(placed, cart, cart.new_ids, new.lock_expires_at, on_placed)
            # Last: lock the product rows (ascending id), check and hold the stock.
            locked = inventory.reserve(
                lines=cart.quantities,
                owner=placed.order.number,
                expires_at=new.lock_expires_at,
                now=new.now,
            )
        _verify_unchanged(cart.products, locked, cart.quantities, new.expected_total)
    return placed


ZERO = Decimal("0.00")


@cache
def _cart_sql(draw_ids: bool, with_key: bool) -> str:
    """The cart's lines with their products, and the address-book entry the order ships to
    (when one is named), in one read. With ``draw_ids`` (PostgreSQL) it also draws the ids of
    the order, its event and one item per cart line, so the order's writes need no answer and
    travel as one statement. With ``with_key`` each line ends with the Idempotency-Key's row
    (``idempotency.joined_lookup_sql``)."""
    c, i, p, h, a = (  # the tables' aliases, then their columns
        lambda name, model=model, alias=alias: f"{alias}.{sql.column(model, name)}"
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
class _NewIds:
    order: int
    event: int
    items: list[int]  # one per cart line, at least one per product


@dataclass(frozen=True)
class _Cart:
    lines: list[tuple[int, int]]  # (cart item id, quantity) as read: what the order consumes
    quantities: dict[int, int]  # per product, lines of the same product added up
    products: dict[int, _CartProduct]
    # Per product: stock minus its hold bound (an upper bound of the units held), so a
    # lower bound of what is free, read without a lock.
    surely_free: dict[int, int]
    free_now: dict[int, int]  # exact, read where ``surely_free`` fell short of a line
    address: dict[str, str] | None  # the named address-book entry, if it is the customer's
    new_ids: _NewIds | None  # PostgreSQL only
    unpaid_orders: int  # the customer's open unpaid orders at the read


def _cart_read(
    customer: Any, address_id: int | None, now: datetime, key: str | None = None
) -> tuple[str, list[Any]]:
    """The cart read as a statement and its parameters (for ``_parse_cart``), with the row of
    the checkout Idempotency-Key ``key`` when one is given."""
    at = connection.ops.adapt_datetimefield_value(now)  # as the ORM stores expires_at
    statement = _cart_sql(connection.vendor == "postgresql", key is not None)
    key_params = [] if key is None else [idempotency.CHECKOUT, key]
    return statement, [at, customer.pk, address_id, *key_params, customer.pk]


def _parse_cart(rows: list[tuple]) -> _Cart:
    draw_ids = connection.vendor == "postgresql"
    if not rows:
        raise CartEmpty()
    quantities: dict[int, int] = {}
    products: dict[int, _CartProduct] = {}
    surely_free: dict[int, int] = {}
    free_now: dict[int, int] = {}
    lines: list[tuple[int, int]] = []
    new_item_ids: list[int] = []
    for row in rows:
        item_id, quantity, *rest = row
        product = _CartProduct(*rest[:_PRODUCT_COLUMNS])
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
    return _Cart(
        lines=lines,
        quantities=quantities,
        products=products,
        surely_free=surely_free,
        free_now=free_now,
        address=None
        if found_address_id is None
        else dict(zip(Address.POSTAL_FIELDS, postal, strict=True)),
        new_ids=_NewIds(order=new_order_id, event=new_event_id, items=new_item_ids)
        if draw_ids
        else None,
        unpaid_orders=unpaid_orders,  # the same on every line
    )


def _write_order(
    placed: PlacedOrder,
    cart: _Cart,
    new_ids: _NewIds | None,
    lock_expires_at: datetime | None,
    on_placed: Callable[[PlacedOrder], None] | None,
) -> None:
    order, method = placed.order, placed.payment_method
    sql.insert([order])
    sql.insert(placed.items)
    record_event(
        event_id=new_ids.event if new_ids else None,
        order=order,
        kind="placed",
        actor_type=ActorType.CUSTOMER,
        actor=order.customer,
        payload={
            "payment_method": method.code,
            "total": str(order.total),
            "currency": order.currency,
            "locks_expire_at": lock_expires_at.isoformat() if lock_expires_at else None,
        },
        items=placed.items,
    )
    if on_placed is not None:
        on_placed(placed)
    # After the Idempotency-Key's row: of two requests with one key, the second must learn
    # that the key is taken (and replay) rather than that the first one emptied the cart.
    _consume_cart_lines(cart.lines)


def _refuse_early_when_sold_out(cart: _Cart) -> None:
    """Answer ``insufficient_stock`` before writing anything when the committed stock already
    falls short: after a sell-out every further buyer is refused on the cart read alone,
    instead of writing an order and rolling it back. A pass here proves nothing (``reserve``
    checks again under the lock)."""
    doubtful = {pid: qty for pid, qty in cart.quantities.items() if cart.surely_free[pid] < qty}
    if doubtful:  # one cart line per product, so the read summed each of these exactly
        inventory.raise_if_short(doubtful, cart.free_now, cart.products)


def _refuse_over_unpaid_limit(cart: _Cart) -> None:
    """At most ``checkout.max_unpaid_orders_per_customer`` open unpaid orders (pending payment
    or payment failed): each holds stock, so an account must not hoard it. Counted by the cart
    read; two checkouts of one customer cannot both pass on the same count, because they read
    the same cart lines and only one can consume them (``_consume_cart_lines``)."""
    limit = get_setting("checkout.max_unpaid_orders_per_customer")
    if cart.unpaid_orders >= limit:
        raise TooManyUnpaidOrders(details={"unpaid_orders": cart.unpaid_orders, "limit": limit})


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


def _consume_cart_lines(lines: list[tuple[int, int]]) -> None:
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
    cart: _Cart, address_id: int | None, new_address: Mapping[str, Any] | None
) -> dict[str, str]:
    if new_address is not None:
        return {field: str(new_address.get(field) or "") for field in Address.POSTAL_FIELDS}
    if cart.address is None:
        raise AddressNotFound(details={"address_id": address_id})
    return cart.address


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
