"""The hand-rendered order body equals what DRF's field machinery would render."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone
from rest_framework import serializers

from orders.models import Order
from orders.serializers import OrderItemOutputSerializer, OrderOutputSerializer
from tests.factories import OrderFactory, OrderItemFactory

pytestmark = pytest.mark.django_db


class ReferenceOrderSerializer(serializers.ModelSerializer):
    items = OrderItemOutputSerializer(many=True)

    class Meta:
        model = Order
        fields = OrderOutputSerializer.Meta.fields


@pytest.mark.parametrize("expires", [None, timedelta(hours=5)])
def test_fast_rendering_matches_drf(expires):
    order = OrderFactory(
        subtotal=Decimal("7500.5"),
        shipping=Decimal("1000"),
        discount=Decimal("0.50"),
        total=Decimal("8500.00"),
        expires_at=timezone.now() + expires if expires else None,
        tracking_number="TRK",
    )
    OrderItemFactory(order=order, unit_price=Decimal("2500.00"), quantity=2)
    OrderItemFactory(order=order, unit_price=Decimal("2500.50"), quantity=1)
    order = Order.objects.prefetch_related("items").get(pk=order.pk)
    assert OrderOutputSerializer(order).data == ReferenceOrderSerializer(order).data
