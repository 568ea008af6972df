"""The catalog shows stock minus active locks: what a customer can still buy."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from inventory import services as inventory
from inventory.models import InventoryLock
from tests.factories import ProductFactory

pytestmark = pytest.mark.django_db


def test_product_api_available_subtracts_active_locks_only(customer_client):
    product = ProductFactory(stock=10)
    inventory.reserve(lines={product.pk: 3}, owner="ORD-A", expires_at=None)
    inventory.reserve(
        lines={product.pk: 2}, owner="ORD-B", expires_at=timezone.now() + timedelta(minutes=5)
    )
    assert customer_client.get(f"/api/products/{product.pk}/").json()["available"] == 5

    InventoryLock.objects.filter(owner="ORD-B").update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )
    assert customer_client.get(f"/api/products/{product.pk}/").json()["available"] == 7


def test_product_list_availability_costs_no_extra_query_per_product(customer_client):
    products = [ProductFactory(stock=4) for _ in range(12)]
    for i, product in enumerate(products):
        inventory.reserve(lines={product.pk: 1 + i % 4}, owner=f"ORD-{i}", expires_at=None)
    customer_client.get("/api/products/")
    with CaptureQueriesContext(connection) as one_page:
        body = customer_client.get("/api/products/?page_size=100").json()
    ProductFactory.create_batch(10, stock=1)
    with CaptureQueriesContext(connection) as bigger_page:
        customer_client.get("/api/products/?page_size=100")
    assert len(bigger_page) == len(one_page)
    available = {row["id"]: row["available"] for row in body["results"]}
    assert available == {p.pk: 4 - (1 + i % 4) for i, p in enumerate(products)}
