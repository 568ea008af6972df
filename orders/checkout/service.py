"""Placing an order from the customer's cart, as its steps: read, price, validate, build,
write, reserve, answer.

Lock-free work first: one read of the cart, its products, the delivery address and what is free
(``cart.read_cart``), the price (``shop.pricing``) and every check that read allows. Then one
short transaction: the order's writes (held: one statement on PostgreSQL) and, last, the stock
(lock the product rows in id order, check and hold: one statement on PostgreSQL,
``inventory.locks.lock_and_hold``), sent together in one round trip. The prices read under the
lock are priced again and must give the same total. The statement count is constant in cart
size.

``place_order`` is the one entry point (the API wraps it in an Idempotency-Key:
``orders.checkout_requests``). It runs in the caller's transaction when there is one, without
a savepoint (two round trips saved), so the wrapper's writes commit or roll back with the order.
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.db import transaction
from django.utils import timezone

from core import sql
from inventory import services as inventory
from inventory.locks import LockedProduct
from orders.checkout.cart import CartProduct, CheckoutCart, consume_cart_lines, read_cart
from orders.errors import PriceChanged, TooManyUnpaidOrders
from orders.events import record_event
from orders.models import Order, OrderAdjustment, OrderItem
from orders.payment_methods import PaymentMethod, get_payment_method
from orders.states import ActorType
from shop.errors import AddressNotFound, CurrencyMismatch, ProductInactive
from shop.models import Address
from shop.platform_settings import get_setting
from shop.pricing import BasketLine, PricedBasket, PricingContext, price_basket
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
class CheckoutRequest:
    """What the customer asks for. ``new_address`` must already be validated (shop's
    ``AddressInputSerializer``); with ``save_address`` it also joins the address book."""

    customer: Any
    payment_method: str
    address_id: int | None = None
    new_address: Mapping[str, Any] | None = None
    save_address: bool = False
    expected_total: Decimal | None = None
    note: str = ""
    codes: tuple[str, ...] = field(default_factory=tuple)  # promotion / gift card codes


@dataclass(frozen=True)
class PlacedOrder:
    order: Order
    items: list[OrderItem]
    payment_method: PaymentMethod
    basket: PricedBasket


@dataclass(frozen=True)
class _NewOrder:
    """The order built from the read and the price, not saved yet."""

    placed: PlacedOrder
    cart: CheckoutCart
    adjustments: list[OrderAdjustment]
    now: datetime
    lock_expires_at: datetime | None


def place_order(request: CheckoutRequest) -> PlacedOrder:
    """Turn the customer's cart into a ``pending_payment`` order holding its stock.

    Raises ``CartEmpty``, ``TooManyUnpaidOrders``, ``AddressNotFound``,
    ``PaymentMethodNotAllowed``, ``ProductInactive``, ``CurrencyMismatch``,
    ``InsufficientStock``, ``PriceChanged`` or ``CartChanged`` (the lines read were no longer
    all there, with the quantities read, when the order consumed them); then nothing is
    written.
    """
    method = get_payment_method(request.payment_method)
    now = timezone.now()
    cart = read_cart(request.customer, _named_address(request), now)
    basket = price(cart, request)
    validate(cart, basket, request)
    new = build(cart, basket, request, method, now)
    # Without a savepoint when the caller has a transaction (the Idempotency-Key wrapper): a
    # failure here then dooms the caller's transaction, which must roll back whole.
    with transaction.atomic(savepoint=False):
        with sql.write_batch():
            write(new, request)
            locked = reserve(new)
        recheck_prices(new, locked, request)
    return new.placed


# --- the steps ---------------------------------------------------------------------------------
def price(cart: CheckoutCart, request: CheckoutRequest) -> PricedBasket:
    return price_basket(
        _basket_lines(cart.quantities, cart.products),
        _pricing_context(cart, cart.products, request),
    )


def validate(cart: CheckoutCart, basket: PricedBasket, request: CheckoutRequest) -> None:
    """Every check the lock-free read allows, cheapest first."""
    limit = get_setting("checkout.max_unpaid_orders_per_customer")
    if cart.unpaid_orders >= limit:
        # Each unpaid order holds stock: an account must not hoard it. Two checkouts of one
        # customer cannot both pass on the same count: they read the same cart lines and only
        # one can consume them (``consume_cart_lines``).
        raise TooManyUnpaidOrders(details={"unpaid_orders": cart.unpaid_orders, "limit": limit})
    _check_sellable(cart.products)
    if request.expected_total is not None and Decimal(request.expected_total) != basket.total:
        raise _price_changed(request.expected_total, basket.total, basket.currency)
    if request.new_address is None and cart.address is None:
        raise AddressNotFound(details={"address_id": request.address_id})
    _refuse_early_when_sold_out(cart)


def build(
    cart: CheckoutCart,
    basket: PricedBasket,
    request: CheckoutRequest,
    method: PaymentMethod,
    now: datetime,
) -> _NewOrder:
    new_ids = cart.new_ids
    order_expires_at = method.order_expires_at(now)
    order = Order(
        id=new_ids.order if new_ids else None,
        number=new_order_number(),
        customer=request.customer,
        payment_status=method.initial_payment_status,
        payment_method=method.code,
        currency=basket.currency,
        subtotal=basket.subtotal,
        shipping=basket.charges,
        discount=basket.reductions,
        total=basket.total,
        shipping_address=_address_snapshot(cart, request),
        note=request.note,
        expires_at=order_expires_at,
        created_at=now,
    )
    items = [
        OrderItem(
            id=new_ids.items[index] if new_ids else None,
            order=order,
            product_id=line.product_id,
            sku=line.sku,
            name=line.name,
            unit_price=line.unit_price,
            quantity=line.quantity,
            line_total=line.line_total,
        )
        for index, line in enumerate(basket.lines)
    ]
    adjustments = [
        OrderAdjustment(order=order, kind=a.kind, label=a.label, code=a.code, amount=a.amount)
        for a in basket.adjustments
    ]
    return _NewOrder(
        placed=PlacedOrder(order=order, items=items, payment_method=method, basket=basket),
        cart=cart,
        adjustments=adjustments,
        now=now,
        lock_expires_at=method.lock_expires_at(now, order_expires_at),
    )


def write(new: _NewOrder, request: CheckoutRequest) -> None:
    """The order, its items, adjustments and event (with the messages it queues), and the cart
    lines it consumes: held writes, sent with ``reserve``'s statement."""
    placed = new.placed
    order = placed.order
    if request.new_address is not None and request.save_address:
        address_create(customer=order.customer, data=dict(request.new_address))
    sql.insert([order])
    sql.insert(placed.items)
    if new.adjustments:
        sql.insert(new.adjustments, read_ids=False)
    record_event(
        event_id=new.cart.new_ids.event if new.cart.new_ids else None,
        order=order,
        kind="placed",
        actor_type=ActorType.CUSTOMER,
        actor=order.customer,
        payload={
            "payment_method": placed.payment_method.code,
            "total": str(order.total),
            "currency": order.currency,
            "locks_expire_at": new.lock_expires_at.isoformat() if new.lock_expires_at else None,
        },
        items=placed.items,
    )
    consume_cart_lines(new.cart.lines)


def reserve(new: _NewOrder) -> dict[int, LockedProduct]:
    """Last: lock the product rows (ascending id), check and hold the stock."""
    return inventory.reserve(
        lines=new.cart.quantities,
        owner=new.placed.order.number,
        expires_at=new.lock_expires_at,
        now=new.now,
    )


def recheck_prices(
    new: _NewOrder, locked: Mapping[int, LockedProduct], request: CheckoutRequest
) -> None:
    """Under the lock: the products priced as they are now give the total the order was
    written with (``price_changed`` otherwise, and the transaction rolls back)."""
    seen = new.cart.products

    def terms(p: CartProduct | LockedProduct) -> tuple[Decimal, str, bool]:
        return (p.price, p.currency, p.is_active)

    if all(terms(locked[pid]) == terms(seen[pid]) for pid in seen):
        return
    now_sold = {
        pid: CartProduct(p.id, p.sku, p.name, p.price, p.currency, p.is_active)
        for pid, p in locked.items()
    }
    _check_sellable(now_sold)  # a product withdrawn or repriced in another currency
    current = price_basket(
        _basket_lines(new.cart.quantities, now_sold),
        _pricing_context(new.cart, now_sold, request),
    )
    ordered = new.placed.basket
    raise _price_changed(request.expected_total or ordered.total, current.total, current.currency)


# --- helpers -----------------------------------------------------------------------------------
def _named_address(request: CheckoutRequest) -> int | None:
    return request.address_id if request.new_address is None else None


def _basket_lines(
    quantities: Mapping[int, int], products: Mapping[int, CartProduct]
) -> list[BasketLine]:
    return [
        BasketLine(
            product_id=pid,
            sku=products[pid].sku,
            name=products[pid].name,
            unit_price=products[pid].price,
            quantity=quantity,
        )
        for pid, quantity in sorted(quantities.items())
    ]


def _pricing_context(
    cart: CheckoutCart, products: Mapping[int, CartProduct], request: CheckoutRequest
) -> PricingContext:
    return PricingContext(
        currency=min(product.currency for product in products.values()),  # one: ``validate``
        customer_id=request.customer.pk,
        country=_address_snapshot(cart, request).get("country", ""),
        codes=request.codes,
    )


def _refuse_early_when_sold_out(cart: CheckoutCart) -> None:
    """Answer ``insufficient_stock`` before writing anything when the committed stock already
    falls short: after a sell-out every further buyer is refused on the cart read alone,
    instead of writing an order and rolling it back. A pass here proves nothing (``reserve``
    checks again under the lock)."""
    doubtful = {pid: qty for pid, qty in cart.quantities.items() if cart.surely_free[pid] < qty}
    if doubtful:  # one cart line per product, so the read summed each of these exactly
        inventory.raise_if_short(doubtful, cart.free_now, cart.products)


def _price_changed(expected: Decimal, current: Decimal, currency: str) -> PriceChanged:
    return PriceChanged(
        details={
            "expected_total": f"{Decimal(expected):.2f}",
            "current_total": f"{current:.2f}",
            "currency": currency,
        }
    )


def _address_snapshot(cart: CheckoutCart, request: CheckoutRequest) -> dict[str, str]:
    if request.new_address is not None:
        return {f: str(request.new_address.get(f) or "") for f in Address.POSTAL_FIELDS}
    return dict(cart.address or {})  # ``validate`` refused an address that is not theirs


def _check_sellable(products: Mapping[int, CartProduct]) -> str:
    """The products are for sale and in one currency; returns it."""
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
