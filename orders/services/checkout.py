"""Placing an order from the customer's cart.

Lock-free work first: one read of the cart, its products and the delivery address (on
PostgreSQL it also draws the new rows' ids; ``place_order_once`` reads the Idempotency-Key's row
in the same round trip), the settings, the totals and, near a sell-out, an early refusal.
Then one short transaction: the order, its items, its event, its messages, the cart lines
consumed (``checkout_cart``) and the completed idempotency key (one statement on PostgreSQL, see
``config.sql.combined_writes``), and last the stock: lock the product rows in id order, check
and hold (one statement on PostgreSQL, ``inventory.locks.lock_and_hold``). Prices are verified
against the rows read under the lock. The statement count is constant in cart size.
"""

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from http import HTTPStatus
from typing import Any

from django.db import transaction
from django.utils import timezone

from config import sql
from inventory import services as inventory
from inventory.locks import LockedProduct
from orders import idempotency
from orders.errors import PriceChanged, TooManyUnpaidOrders
from orders.events import record_event
from orders.models import Order, OrderItem
from orders.payment_methods import PaymentMethod, get_payment_method
from orders.services.checkout_cart import (
    CartProduct,
    CheckoutCart,
    NewIds,
    cart_read,
    consume_cart_lines,
    parse_cart,
)
from orders.states import ActorType
from shop.errors import AddressNotFound, CurrencyMismatch, ProductInactive
from shop.models import Address
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
    read = cart_read(customer, address_id if new_address is None else None, now)
    cart = parse_cart(sql.fetch_all(*read))
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
        *cart_read(customer, address_id if new_address is None else None, now, key)
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
    cart = parse_cart(cart_rows)
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
    cart: CheckoutCart
    now: datetime
    lock_expires_at: datetime | None
    expected_total: Decimal  # what the prices under the lock must still add up to
    new_address: Mapping[str, Any] | None


def _prepare(
    cart: CheckoutCart,
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


def _write_order(
    placed: PlacedOrder,
    cart: CheckoutCart,
    new_ids: NewIds | None,
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
    consume_cart_lines(cart.lines)


def _refuse_early_when_sold_out(cart: CheckoutCart) -> None:
    """Answer ``insufficient_stock`` before writing anything when the committed stock already
    falls short: after a sell-out every further buyer is refused on the cart read alone,
    instead of writing an order and rolling it back. A pass here proves nothing (``reserve``
    checks again under the lock)."""
    doubtful = {pid: qty for pid, qty in cart.quantities.items() if cart.surely_free[pid] < qty}
    if doubtful:  # one cart line per product, so the read summed each of these exactly
        inventory.raise_if_short(doubtful, cart.free_now, cart.products)


def _refuse_over_unpaid_limit(cart: CheckoutCart) -> None:
    """At most ``checkout.max_unpaid_orders_per_customer`` open unpaid orders (pending payment
    or payment failed): each holds stock, so an account must not hoard it. Counted by the cart
    read; two checkouts of one customer cannot both pass on the same count, because they read
    the same cart lines and only one can consume them (``consume_cart_lines``)."""
    limit = get_setting("checkout.max_unpaid_orders_per_customer")
    if cart.unpaid_orders >= limit:
        raise TooManyUnpaidOrders(details={"unpaid_orders": cart.unpaid_orders, "limit": limit})


def _price_changed(expected: Decimal, current: Decimal, currency: str) -> PriceChanged:
    return PriceChanged(
        details={
            "expected_total": f"{Decimal(expected):.2f}",
            "current_total": f"{current:.2f}",
            "currency": currency,
        }
    )


def _verify_unchanged(
    seen: dict[int, CartProduct],
    locked: dict[int, LockedProduct],
    quantities: dict[int, int],
    expected_total: Decimal,
) -> None:
    """Under the lock: the products are still sold at the prices the order was written with."""

    def terms(p: CartProduct | LockedProduct) -> tuple[Decimal, str, bool]:
        return (p.price, p.currency, p.is_active)

    if all(terms(locked[pid]) == terms(seen[pid]) for pid in seen):
        return
    now_sold = {
        pid: CartProduct(p.id, p.sku, p.name, p.price, p.currency, p.is_active)
        for pid, p in locked.items()
    }
    currency = _check_sellable(now_sold)
    current = sum((now_sold[pid].price * qty for pid, qty in quantities.items()), ZERO)
    raise _price_changed(expected_total, current, currency)


def _address_snapshot(
    cart: CheckoutCart, address_id: int | None, new_address: Mapping[str, Any] | None
) -> dict[str, str]:
    if new_address is not None:
        return {field: str(new_address.get(field) or "") for field in Address.POSTAL_FIELDS}
    if cart.address is None:
        raise AddressNotFound(details={"address_id": address_id})
    return cart.address


def _check_sellable(products: Mapping[int, CartProduct]) -> str:
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
