"""The per-product hold bound: checkout's O(1) availability check, never an oversell."""

from datetime import timedelta

import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory import services as inventory
from inventory.errors import InsufficientStock
from inventory.models import InventoryLock, StockHold
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def bound_of(product) -> int:
    return StockHold.objects.get(product=product).quantity


def later():
    return timezone.now() + timedelta(minutes=30)


def statements(captured) -> list[str]:
    return [
        q["sql"] for q in captured if not q["sql"].startswith(("SAVEPOINT", "RELEASE SAVEPOINT"))
    ]


def test_reserves_raise_the_bound_and_commit_lowers_it():
    product = ProductFactory(stock=10)
    inventory.reserve(lines={product.pk: 3}, owner="A", expires_at=later())
    inventory.reserve(lines={product.pk: 2}, owner="B", expires_at=later())
    assert bound_of(product) == 5
    inventory.commit(owner="A", lines={product.pk: 3})
    assert bound_of(product) == 2


def test_releases_leave_an_over_count_that_the_exact_path_corrects():
    product = ProductFactory(stock=4)
    inventory.reserve(lines={product.pk: 4}, owner="A", expires_at=later())
    inventory.release(owner="A")
    assert bound_of(product) == 4  # over-counts: A holds nothing now
    inventory.reserve(lines={product.pk: 3}, owner="B", expires_at=later())
    assert bound_of(product) == 3  # reset to the exact sum plus the new units


def test_expired_locks_are_free_even_when_the_bound_still_counts_them():
    product = ProductFactory(stock=2)
    inventory.reserve(lines={product.pk: 2}, owner="A", expires_at=later())
    InventoryLock.objects.filter(owner="A").update(expires_at=timezone.now() - timedelta(seconds=1))
    inventory.reserve(lines={product.pk: 2}, owner="B", expires_at=later())
    # The expired row still exists, so the exact bound is 2 + 2 until the sweep.
    assert bound_of(product) == 4
    with pytest.raises(InsufficientStock), transaction.atomic():  # as checkout calls it
        inventory.reserve(lines={product.pk: 1}, owner="C", expires_at=later())
    assert bound_of(product) == 4  # the refused checkout changed nothing
    with pytest.raises(InsufficientStock):  # a caller that catches and goes on
        inventory.reserve(lines={product.pk: 1}, owner="C", expires_at=later())
    assert bound_of(product) == 5  # over-counts (safe); the next exact check corrects it
    assert InventoryLock.objects.filter(owner="C").count() == 0


def test_fast_path_is_one_statement_however_many_locks_exist():
    product = ProductFactory(stock=1000)
    for i in range(30):
        inventory.reserve(lines={product.pk: 1}, owner=f"O{i}", expires_at=later())
    with CaptureQueriesContext(connection) as captured:
        inventory.reserve(lines={product.pk: 1}, owner="NEW", expires_at=later())
    sql = statements(captured)
    assert len(sql) == 1, sql  # lock products, raise bound, insert locks: one round trip
    assert "SUM" not in " ".join(sql).upper()
    assert InventoryLock.objects.get(owner="NEW").quantity == 1
    assert bound_of(product) == 31


def test_exact_path_when_the_bound_no_longer_fits_then_locks_are_written():
    product = ProductFactory(stock=3)
    inventory.reserve(lines={product.pk: 2}, owner="A", expires_at=later())
    InventoryLock.objects.filter(owner="A").update(expires_at=timezone.now() - timedelta(seconds=1))
    with CaptureQueriesContext(connection) as captured:
        inventory.reserve(lines={product.pk: 3}, owner="B", expires_at=later())
    # bound 2 + 3 > stock 3, so the locks are summed exactly (the expired 2 do not count).
    assert "SUM" in " ".join(statements(captured)).upper()
    assert InventoryLock.objects.get(owner="B").quantity == 3
    assert bound_of(product) == 5  # every lock row, expired or not, until the sweep
