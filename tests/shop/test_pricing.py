"""The pricing module adds prices up, applies adjusters in turn and prorates refunds."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

import pytest

from shop import pricing
from shop.pricing import (
    Adjustment,
    AdjustmentKind,
    BasketLine,
    PricedBasket,
    PricingContext,
    price_basket,
    prorated_refund,
)

NGN = PricingContext(currency="NGN", country="NG")


def line(product_id: int, price: str, quantity: int) -> BasketLine:
    return BasketLine(
        product_id, f"SKU-{product_id}", f"Product {product_id}", Decimal(price), quantity
    )


def flat_shipping(basket: PricedBasket, context: PricingContext) -> Iterable[Adjustment]:
    yield Adjustment(AdjustmentKind.SHIPPING, f"Delivery to {context.country}", Decimal("1500.00"))


def tenth_off(basket: PricedBasket, context: PricingContext) -> Iterable[Adjustment]:
    yield Adjustment(AdjustmentKind.DISCOUNT, "10% off", basket.subtotal / 10, code="TENTH")


def test_without_adjusters_the_total_is_the_sum_of_the_lines():
    basket = price_basket([line(1, "2500.50", 3), line(2, "100.00", 1)], NGN)

    assert [priced.line_total for priced in basket.lines] == [Decimal("7501.50"), Decimal("100.00")]
    assert (basket.subtotal, basket.adjustments, basket.total) == (
        Decimal("7601.50"),
        (),
        Decimal("7601.50"),
    )


def test_an_empty_basket_is_worth_nothing():
    basket = price_basket([], PricingContext(currency=""))
    assert (basket.subtotal, basket.total) == (Decimal("0.00"), Decimal("0.00"))


def test_charges_add_to_the_total_and_reductions_take_from_it(monkeypatch):
    monkeypatch.setattr(pricing, "ADJUSTERS", [flat_shipping, tenth_off])

    basket = price_basket([line(1, "5000.00", 2)], NGN)

    assert [(a.kind, a.label, a.amount, a.code) for a in basket.adjustments] == [
        ("shipping", "Delivery to NG", Decimal("1500.00"), ""),
        ("discount", "10% off", Decimal("1000.00"), "TENTH"),
    ]
    assert (basket.subtotal, basket.charges, basket.reductions, basket.total) == (
        Decimal("10000.00"),
        Decimal("1500.00"),
        Decimal("1000.00"),
        Decimal("10500.00"),
    )


def test_each_adjuster_sees_the_adjustments_of_those_before_it(monkeypatch):
    seen: list[tuple[str, ...]] = []

    def records_what_it_sees(basket: PricedBasket, context: PricingContext) -> list[Adjustment]:
        seen.append(tuple(a.kind for a in basket.adjustments))
        return []

    monkeypatch.setattr(pricing, "ADJUSTERS", [flat_shipping, records_what_it_sees])

    price_basket([line(1, "10.00", 1)], NGN)

    assert seen == [("shipping",)]


@pytest.mark.parametrize("amount", ["0.00", "-5.00"])
def test_an_adjustment_must_have_a_positive_amount(monkeypatch, amount):
    def broken(basket: PricedBasket, context: PricingContext) -> list[Adjustment]:
        return [Adjustment(AdjustmentKind.DISCOUNT, "broken", Decimal(amount))]

    monkeypatch.setattr(pricing, "ADJUSTERS", [broken])

    with pytest.raises(ValueError, match="broken"):
        price_basket([line(1, "10.00", 1)], NGN)


def test_a_reduction_cannot_take_the_total_below_zero(monkeypatch):
    def too_generous(basket: PricedBasket, context: PricingContext) -> list[Adjustment]:
        return [Adjustment(AdjustmentKind.DISCOUNT, "gift", basket.total + 1)]

    monkeypatch.setattr(pricing, "ADJUSTERS", [too_generous])

    with pytest.raises(ValueError, match="too_generous"):
        price_basket([line(1, "10.00", 1)], NGN)


def test_a_refund_of_whole_lines_without_reductions_is_their_price():
    lines = {1: (Decimal("5000.00"), 2), 2: (Decimal("999.99"), 3)}

    assert prorated_refund(lines, {1: 1}, Decimal("0.00")) == Decimal("2500.00")
    assert prorated_refund(lines, {2: 3}, Decimal("0.00")) == Decimal("999.99")
    assert prorated_refund(lines, {1: 2, 2: 3}, Decimal("0.00")) == Decimal("5999.99")


def test_a_refund_bears_its_share_of_the_reductions():
    # 10 000 of goods, 1 000 off: each unit paid for 90 % of its price.
    lines = {1: (Decimal("6000.00"), 2), 2: (Decimal("4000.00"), 4)}

    assert prorated_refund(lines, {1: 1}, Decimal("1000.00")) == Decimal("2700.00")
    assert prorated_refund(lines, {2: 4}, Decimal("1000.00")) == Decimal("3600.00")
    assert prorated_refund(lines, {1: 2, 2: 4}, Decimal("1000.00")) == Decimal("9000.00")


def test_a_prorated_refund_is_rounded_to_the_cent_half_even():
    lines = {1: (Decimal("100.00"), 3)}

    assert prorated_refund(lines, {1: 1}, Decimal("0.00")) == Decimal("33.33")
    assert prorated_refund(lines, {1: 1}, Decimal("0.01")) == Decimal("33.33")
    assert prorated_refund({1: (Decimal("0.05"), 2)}, {1: 1}, Decimal("0.00")) == Decimal("0.02")
