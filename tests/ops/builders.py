"""Data built for the maintenance tests, through the services where it matters."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from inventory.models import InventoryLock
from orders import services
from orders.models import IdempotencyKey, Order
from orders.states import ActorType
from tests.factories import ProductFactory, StaffFactory, UserFactory
from tests.orders.helpers import place


def expired_locks(count: int, *, product=None, minutes_ago: int = 5) -> None:
    product = product or ProductFactory(stock=count)
    expired_at = timezone.now() - timedelta(minutes=minutes_ago)
    InventoryLock.objects.bulk_create(
        (
            InventoryLock(product=product, owner=f"OLD-{i}", quantity=1, expires_at=expired_at)
            for i in range(count)
        ),
        batch_size=2000,
    )


def overdue_orders(count: int, *, product=None) -> list[Order]:
    """Placed bank-transfer orders (holding 1 unit each) whose expiry has passed."""
    product = product or ProductFactory(stock=count + 10, price=Decimal("100.00"))
    orders = [place(UserFactory(), [(product, 1)]).order for _ in range(count)]
    now = timezone.now()
    for position, order in enumerate(orders):
        Order.objects.filter(pk=order.pk).update(
            expires_at=now - timedelta(minutes=count - position)
        )
    return orders


def finished_orders(count: int, *, days_ago: int) -> list[Order]:
    """Cancelled and delivered orders, last changed ``days_ago`` days ago."""
    product = ProductFactory(stock=count + 10, price=Decimal("100.00"))
    staff = StaffFactory()
    orders = []
    for i in range(count):
        order = place(UserFactory(), [(product, 1)]).order
        if i % 2:
            services.cancel_order(order_id=order.pk, actor_type=ActorType.CUSTOMER)
        else:
            deliver(order, staff)
        orders.append(order)
    Order.objects.filter(pk__in=[o.pk for o in orders]).update(
        updated_at=timezone.now() - timedelta(days=days_ago)
    )
    return orders


def deliver(order: Order, staff) -> None:
    services.mark_paid(order_id=order.pk, amount=order.total, currency=order.currency)
    services.start_processing(order_id=order.pk, actor=staff)
    services.mark_ready_for_shipment(order_id=order.pk, actor=staff)
    services.mark_shipped(order_id=order.pk, tracking_number="T1", carrier="GIG", actor=staff)
    services.mark_delivered(order_id=order.pk, actor=staff)


def idempotency_keys(count: int, *, hours_ago: int) -> None:
    customer = UserFactory()
    created = timezone.now() - timedelta(hours=hours_ago)
    IdempotencyKey.objects.bulk_create(
        IdempotencyKey(
            customer=customer,
            key=f"key-{hours_ago}-{i}",
            fingerprint="0" * 64,
            created_at=created,
        )
        for i in range(count)
    )
