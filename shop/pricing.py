"""The one place prices are added up: a basket of lines priced into lines, a subtotal, a list of
adjustments and a total.

The cart API, checkout (when it prices the order, and again under the product locks) and refund
proration all call ``price_basket``; none adds prices up on its own. An *adjustment* is any
amount the basket's lines do not explain: a shipping fee, a discount, a gift card, and (the hook
is ``ADJUSTERS``) taxes. Each kind says whether it adds to the total (a charge) or takes from it
(a reduction); an order stores the sum of each side (``Order.shipping``: charges,
``Order.discount``: reductions) and every adjustment itself (``orders.OrderAdjustment``).

Adding a kind of adjustment: give it an ``AdjustmentKind`` (the storage's choices, a migration),
say its side in ``CHARGES``, and register its adjuster in ``ADJUSTERS`` (docs/architecture.md,
"Pricing"). Nothing else changes: checkout writes whatever adjustments the basket holds.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from decimal import ROUND_HALF_EVEN, Decimal

from django.db import models

ZERO = Decimal("0.00")
CENT = Decimal("0.01")


class AdjustmentKind(models.TextChoices):
    SHIPPING = "shipping", "Shipping"
    DISCOUNT = "discount", "Discount"


# Kinds that add to what the customer pays; every other kind takes from it.
CHARGES = frozenset({AdjustmentKind.SHIPPING})


@dataclass(frozen=True)
class BasketLine:
    """One line to price: a product at its current price, so many units."""

    product_id: int
    sku: str
    name: str
    unit_price: Decimal
    quantity: int


@dataclass(frozen=True)
class PricedLine:
    product_id: int
    sku: str
    name: str
    unit_price: Decimal
    quantity: int
    line_total: Decimal


@dataclass(frozen=True)
class Adjustment:
    kind: str  # an AdjustmentKind
    label: str  # what the customer reads ("Delivery to Lagos", "WELCOME10")
    amount: Decimal  # positive: a charge or a reduction by its kind's side
    code: str = ""  # the promotion or gift card code, when there is one

    @property
    def signed(self) -> Decimal:
        return self.amount if self.kind in CHARGES else -self.amount


@dataclass(frozen=True)
class PricingContext:
    """What adjusters may look at besides the lines (who buys, where it goes, codes given)."""

    currency: str
    customer_id: int | None = None
    country: str = ""
    codes: tuple[str, ...] = ()


@dataclass(frozen=True)
class PricedBasket:
    currency: str
    lines: tuple[PricedLine, ...]
    adjustments: tuple[Adjustment, ...] = field(default_factory=tuple)

    @property
    def subtotal(self) -> Decimal:
        return sum((line.line_total for line in self.lines), ZERO)

    @property
    def charges(self) -> Decimal:
        return sum((a.amount for a in self.adjustments if a.kind in CHARGES), ZERO)

    @property
    def reductions(self) -> Decimal:
        return sum((a.amount for a in self.adjustments if a.kind not in CHARGES), ZERO)

    @property
    def total(self) -> Decimal:
        return self.subtotal + self.charges - self.reductions


# (basket priced so far, context) -> the adjustments it adds. Run in order; each sees the
# adjustments of those before it. None is registered yet: shipping fees, promotions and gift
# cards register here, and taxes last.
Adjuster = Callable[[PricedBasket, PricingContext], Iterable[Adjustment]]
ADJUSTERS: list[Adjuster] = []


def price_line(line: BasketLine) -> PricedLine:
    return PricedLine(
        product_id=line.product_id,
        sku=line.sku,
        name=line.name,
        unit_price=line.unit_price,
        quantity=line.quantity,
        line_total=line.unit_price * line.quantity,
    )


def price_basket(lines: Iterable[BasketLine], context: PricingContext) -> PricedBasket:
    """Price the lines, then apply every registered adjuster in turn. A reduction never takes
    the total below zero: an adjuster must cap itself (a ``ValueError`` says which did not)."""
    basket = PricedBasket(
        currency=context.currency, lines=tuple(price_line(line) for line in lines)
    )
    for adjuster in ADJUSTERS:
        added = tuple(adjuster(basket, context))
        if any(a.amount <= 0 for a in added):
            raise ValueError(f"{adjuster.__name__}: an adjustment's amount must be positive")
        basket = PricedBasket(basket.currency, basket.lines, basket.adjustments + added)
        if basket.total < 0:
            raise ValueError(f"{adjuster.__name__} took the total below zero")
    return basket


def prorated_refund(
    lines: Mapping[int, tuple[Decimal, int]], refunded: Mapping[int, int], reductions: Decimal
) -> Decimal:
    """What refunding some units is worth: their price, less their share of the order's
    reductions (a discount paid for by every line, in proportion to its value).

    ``lines`` maps a line's key to (line total, units ordered); ``refunded`` a line's key to
    units refunded; ``reductions`` is the order's reductions. Rounded to the cent, half even.
    """
    subtotal = sum((total for total, _ in lines.values()), ZERO)
    value = ZERO
    for key, units in refunded.items():
        line_total, ordered = lines[key]
        value += line_total * units / ordered
    if reductions and subtotal:
        value -= reductions * value / subtotal
    return value.quantize(CENT, rounding=ROUND_HALF_EVEN)
