"""Staff adjustments racing payments, in real threads on PostgreSQL: stock and ledger agree."""

from collections import Counter

import pytest

from core.errors import DomainError
from inventory.adjustments import adjust_stock
from inventory.models import StockMovement
from orders.services import mark_paid
from shop.models import Product
from tests.factories import ProductFactory, UserFactory
from tests.orders.helpers import place
from tests.orders.test_checkout_concurrency import run_at_once

pytestmark = pytest.mark.django_db(transaction=True)

INITIAL = 60


def outcome(call):
    def run():
        try:
            call()
        except DomainError as error:
            return error.code
        return "done"

    return run


def test_adjustments_racing_payments_keep_stock_and_ledger_consistent():
    serum, soap = ProductFactory.create(stock=INITIAL), ProductFactory.create(stock=INITIAL)
    orders = [place(UserFactory.create(), [(serum, 2), (soap, 1)]).order for _ in range(10)]

    calls = [
        *(
            outcome(lambda o=o: mark_paid(order_id=o.pk, amount=o.total, currency=o.currency))
            for o in orders
        ),
        *(
            outcome(lambda p=p, d=d: adjust_stock(product_id=p.pk, delta=d, reason="race"))
            for p in (serum, soap)
            for d in (3, -1, 5, -2, 1)
        ),
        # Stock takes made from the figure seen before the rush: each applies only if nothing
        # moved the stock in between, else it is refused and writes nothing.
        *(
            outcome(
                lambda p=p: adjust_stock(
                    product_id=p.pk, set_to=INITIAL + 7, expected_stock=INITIAL, reason="count"
                )
            )
            for p in (serum, soap)
        ),
    ]
    results = Counter(run_at_once(calls))

    assert set(results) <= {"done", "stock_changed"}
    assert results["done"] + results["stock_changed"] == len(calls)
    for product, sold in ((serum, 20), (soap, 10)):
        stock = Product.objects.get(pk=product.pk).stock
        rows = list(
            StockMovement.objects.filter(product=product)
            .order_by("id")
            .values_list("kind", "delta", "stock_after")
        )
        assert sum(delta for _, delta, _ in rows) == stock - INITIAL
        assert sum(-delta for kind, delta, _ in rows if kind == "sale") == sold
        assert Counter(kind for kind, _, _ in rows)["sale"] == 10
        # Each row was written under the product's lock, so in id order every row starts
        # from the stock the previous one left.
        before = INITIAL
        for _, delta, after in rows:
            assert after == before + delta
            before = after
        assert before == stock
    applied_counts = StockMovement.objects.filter(reason="count").count()
    assert results["stock_changed"] == 2 - applied_counts
