from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from inventory import services as inventory
from inventory.errors import InsufficientStock
from inventory.models import InventoryLock
from inventory.selectors import get_available_stock, get_available_stocks
from shop.models import Product
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def later(minutes: int = 30):
    return timezone.now() + timedelta(minutes=minutes)


def test_reserve_holds_units_and_available_drops():
    product = ProductFactory(stock=10)
    inventory.reserve(lines={product.pk: 3}, owner="ORD-A", expires_at=later())
    assert get_available_stock(product.pk) == 7
    product.refresh_from_db()
    assert product.stock == 10  # a lock holds units, it does not take them off the shelf
    assert list(InventoryLock.objects.values_list("owner", "product_id", "quantity")) == [
        ("ORD-A", product.pk, 3)
    ]


def test_reserve_aggregates_lines_of_the_same_product_before_checking():
    product = ProductFactory(stock=5)
    with pytest.raises(InsufficientStock) as exc:
        inventory.reserve(
            lines=[(product.pk, 3), (product.pk, 3)], owner="ORD-A", expires_at=later()
        )
    assert exc.value.details == {
        "products": [
            {
                "product_id": product.pk,
                "sku": product.sku,
                "name": product.name,
                "requested": 6,
                "available": 5,
            }
        ]
    }
    assert InventoryLock.objects.count() == 0


def test_reserve_reports_every_short_product_and_writes_nothing():
    plenty, short_a, short_b = (
        ProductFactory(stock=10),
        ProductFactory(stock=1),
        ProductFactory(stock=0),
    )
    with pytest.raises(InsufficientStock) as exc:
        inventory.reserve(
            lines={plenty.pk: 2, short_a.pk: 2, short_b.pk: 1}, owner="ORD-A", expires_at=later()
        )
    assert [
        (p["product_id"], p["requested"], p["available"]) for p in exc.value.details["products"]
    ] == [
        (short_a.pk, 2, 1),
        (short_b.pk, 1, 0),
    ]
    assert exc.value.code == "insufficient_stock"
    assert exc.value.http_status == 409
    assert InventoryLock.objects.count() == 0


def test_other_owners_active_locks_count_against_availability():
    product = ProductFactory(stock=4)
    inventory.reserve(lines={product.pk: 3}, owner="ORD-A", expires_at=later())
    with pytest.raises(InsufficientStock):
        inventory.reserve(lines={product.pk: 2}, owner="ORD-B", expires_at=later())
    inventory.reserve(lines={product.pk: 1}, owner="ORD-B", expires_at=None)
    assert get_available_stock(product.pk) == 0


def test_expired_locks_stop_counting_at_once_and_sweep_deletes_them():
    product = ProductFactory(stock=4)
    inventory.reserve(lines={product.pk: 3}, owner="ORD-A", expires_at=later())
    InventoryLock.objects.filter(owner="ORD-A").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert get_available_stock(product.pk) == 4
    inventory.reserve(lines={product.pk: 4}, owner="ORD-B", expires_at=later())
    assert inventory.sweep_expired() == 1
    assert list(InventoryLock.objects.values_list("owner", flat=True)) == ["ORD-B"]


def test_sweep_deletes_in_bounded_batches_and_keeps_open_ended_locks():
    products = [ProductFactory(stock=5) for _ in range(7)]
    past = timezone.now() - timedelta(minutes=1)
    InventoryLock.objects.bulk_create(
        InventoryLock(product=p, owner=f"ORD-{i}", quantity=1, expires_at=past)
        for i, p in enumerate(products)
    )
    InventoryLock.objects.create(product=products[0], owner="COD-1", quantity=1, expires_at=None)
    assert inventory.sweep_expired(batch_size=3) == 7
    assert list(InventoryLock.objects.values_list("owner", flat=True)) == ["COD-1"]


def test_commit_deducts_stock_and_consumes_the_owners_locks():
    a, b = ProductFactory(stock=10), ProductFactory(stock=3)
    inventory.reserve(lines={a.pk: 2, b.pk: 3}, owner="ORD-A", expires_at=later())
    inventory.commit(owner="ORD-A", lines={a.pk: 2, b.pk: 3})
    assert dict(Product.objects.filter(pk__in=[a.pk, b.pk]).values_list("pk", "stock")) == {
        a.pk: 8,
        b.pk: 0,
    }
    assert InventoryLock.objects.count() == 0
    assert get_available_stocks([a.pk, b.pk]) == {a.pk: 8, b.pk: 0}


def test_commit_after_expiry_takes_free_units_but_never_those_held_by_others():
    product = ProductFactory(stock=3)
    inventory.reserve(lines={product.pk: 2}, owner="ORD-A", expires_at=later())
    InventoryLock.objects.filter(owner="ORD-A").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    inventory.reserve(lines={product.pk: 2}, owner="ORD-B", expires_at=later())
    with pytest.raises(InsufficientStock):
        inventory.commit(owner="ORD-A", lines={product.pk: 2})
    product.refresh_from_db()
    assert product.stock == 3
    inventory.commit(owner="ORD-A", lines={product.pk: 1})
    product.refresh_from_db()
    assert product.stock == 2
    assert list(InventoryLock.objects.values_list("owner", flat=True)) == ["ORD-B"]


def test_release_and_restore():
    product = ProductFactory(stock=5)
    inventory.reserve(lines={product.pk: 2}, owner="ORD-A", expires_at=None)
    assert inventory.release(owner="ORD-A") == 1
    assert get_available_stock(product.pk) == 5
    inventory.restore(lines={product.pk: 4})
    product.refresh_from_db()
    assert product.stock == 9


def test_extend_pushes_active_locks_only():
    product, other = ProductFactory(stock=5), ProductFactory(stock=5)
    inventory.reserve(lines={product.pk: 1}, owner="ORD-A", expires_at=later(5))
    inventory.reserve(lines={other.pk: 1}, owner="ORD-B", expires_at=later(5))
    InventoryLock.objects.filter(owner="ORD-B").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    until = later(60)
    assert inventory.extend(owner="ORD-A", until=until) == 1
    assert inventory.extend(owner="ORD-B", until=until) == 0
    assert InventoryLock.objects.get(owner="ORD-A").expires_at == until


def test_database_refuses_negative_stock_and_non_positive_lock_quantity():
    product = ProductFactory(stock=1)
    with pytest.raises(IntegrityError), transaction.atomic():
        Product.objects.filter(pk=product.pk).update(stock=-1)
    with pytest.raises(IntegrityError), transaction.atomic():
        InventoryLock.objects.create(product=product, owner="X", quantity=0)


def test_available_stock_annotation_is_one_query_for_a_page(django_assert_num_queries):
    products = [ProductFactory(stock=5) for _ in range(15)]
    for i, p in enumerate(products):
        inventory.reserve(lines={p.pk: 1 + i % 3}, owner=f"ORD-{i}", expires_at=later())
    with django_assert_num_queries(1):
        available = get_available_stocks(p.pk for p in products)
    assert available == {p.pk: 5 - (1 + i % 3) for i, p in enumerate(products)}


def test_reserve_accepts_a_ttl():
    product = ProductFactory(stock=5)
    now = timezone.now()
    inventory.reserve(lines={product.pk: 1}, owner="ORD-A", ttl=timedelta(minutes=30), now=now)
    assert InventoryLock.objects.get().expires_at == now + timedelta(minutes=30)
