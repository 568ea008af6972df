"""Cash-on-delivery orders that staff do not accept in time expire and release their stock."""

import importlib
from datetime import datetime, timedelta

import pytest
from django.apps import apps
from django.utils import timezone

from inventory.models import InventoryLock
from inventory.selectors import get_available_stock
from notifications.models import Notification
from notifications.rendering import render_email
from ops.cleanup import run_cleanup
from orders.models import Order, OrderEvent
from orders.services import accept_cash_on_delivery, expire_overdue_orders
from orders.states import OrderState
from shop.platform_settings import invalidate_cache, set_setting
from tests.factories import ProductFactory, StaffFactory, UserFactory
from tests.orders.helpers import place

pytestmark = pytest.mark.django_db
migration = importlib.import_module("orders.migrations.0006_cod_orders_expire_unaccepted")


@pytest.fixture(autouse=True)
def _fresh_platform_settings():
    invalidate_cache()
    yield
    invalidate_cache()


def place_cod(product, units: int = 2) -> Order:
    return place(UserFactory.create(), [(product, units)], payment_method="cod").order


def expiry(order: Order) -> datetime:
    """The expiry of an order that has one (an unpaid order waiting to be paid or accepted)."""
    assert order.expires_at is not None
    return order.expires_at


def lock_expiries(order: Order) -> set[datetime | None]:
    return set(
        InventoryLock.objects.filter(owner=order.number).values_list("expires_at", flat=True)
    )


def test_a_cod_order_and_its_stock_wait_72_hours_for_acceptance_by_default():
    before = timezone.now()
    order = place_cod(ProductFactory.create(stock=5))
    assert before + timedelta(hours=72) <= expiry(order) <= timezone.now() + timedelta(hours=72)
    assert lock_expiries(order) == {order.expires_at}


def test_the_acceptance_window_is_a_platform_setting():
    set_setting("checkout.cod_acceptance_hours", 6)
    before = timezone.now()
    order = place_cod(ProductFactory.create(stock=5))
    assert before + timedelta(hours=6) <= expiry(order) <= timezone.now() + timedelta(hours=6)


def test_an_unaccepted_cod_order_expires_and_releases_its_stock():
    product = ProductFactory.create(stock=5)
    order = place_cod(product, 2)
    assert get_available_stock(product.pk) == 3

    cancelled = expire_overdue_orders(now=expiry(order) + timedelta(seconds=1))

    assert cancelled == 1
    order.refresh_from_db()
    assert order.state == OrderState.CANCELLED
    last_event = OrderEvent.objects.filter(order=order).last()
    assert last_event is not None
    assert last_event.kind == "expired"
    assert not InventoryLock.objects.filter(owner=order.number).exists()
    assert get_available_stock(product.pk) == 5
    message = Notification.objects.get(template="order_expired", channel="email")
    assert message.context["cash_on_delivery"] is True
    assert "cash-on-delivery order" in render_email("order_expired", message.context).text


def test_the_cleanup_run_expires_them_too():
    product = ProductFactory.create(stock=5)
    order = place_cod(product, 5)
    report = run_cleanup(now=expiry(order) + timedelta(minutes=1))
    assert report.expired_orders_cancelled == 1
    assert get_available_stock(product.pk) == 5


def test_an_order_accepted_in_time_no_longer_expires():
    product = ProductFactory.create(stock=5)
    order = place_cod(product, 2)

    accept_cash_on_delivery(order_id=order.pk, actor=StaffFactory.create(), reason="Phoned")
    order.refresh_from_db()
    assert (order.state, order.expires_at) == (OrderState.PROCESSING, None)

    assert expire_overdue_orders(now=timezone.now() + timedelta(days=30)) == 0
    order.refresh_from_db()
    assert order.state == OrderState.PROCESSING
    assert product.__class__.objects.get(pk=product.pk).stock == 3


def test_the_migration_gives_waiting_cod_orders_a_window_from_now_and_reverses():
    product = ProductFactory.create(stock=20)
    waiting = place_cod(product, 1)
    accepted = place_cod(product, 1)
    accept_cash_on_delivery(order_id=accepted.pk, actor=StaffFactory.create())
    transfer = place(UserFactory.create(), [(product, 1)]).order
    # As the earlier code left them: COD orders and their locks without an expiry.
    Order.objects.filter(pk=waiting.pk).update(expires_at=None)
    InventoryLock.objects.filter(owner=waiting.number).update(expires_at=None)
    transfer_expiry = Order.objects.get(pk=transfer.pk).expires_at

    before = timezone.now()
    migration.give_waiting_cod_orders_an_expiry(apps, None)

    waiting.refresh_from_db()
    assert expiry(waiting) >= before + timedelta(hours=72)
    assert lock_expiries(waiting) == {waiting.expires_at}
    assert Order.objects.get(pk=accepted.pk).expires_at is None
    assert Order.objects.get(pk=transfer.pk).expires_at == transfer_expiry

    migration.hold_waiting_cod_orders_forever(apps, None)

    waiting.refresh_from_db()
    assert waiting.expires_at is None
    assert lock_expiries(waiting) == {None}
    assert Order.objects.get(pk=transfer.pk).expires_at == transfer_expiry


def test_the_migration_reads_the_window_from_the_platform_setting():
    set_setting("checkout.cod_acceptance_hours", 10)
    waiting = place_cod(ProductFactory.create(stock=5), 1)
    Order.objects.filter(pk=waiting.pk).update(expires_at=None)

    before = timezone.now()
    migration.give_waiting_cod_orders_an_expiry(apps, None)

    waiting.refresh_from_db()
    assert before + timedelta(hours=10) <= expiry(waiting) <= timezone.now() + timedelta(hours=10)
