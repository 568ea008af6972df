import importlib
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth.models import Group

from orders.models import Order
from orders.services import mark_paid
from shop.platform_settings import invalidate_cache
from tests.factories import ProductFactory, StaffFactory, UserFactory
from tests.orders.helpers import place

staff_groups_migration = importlib.import_module("orders.migrations.0004_staff_groups")


@pytest.fixture(autouse=True)
def _fresh_platform_settings():
    invalidate_cache()
    yield
    invalidate_cache()


@pytest.fixture
def staff_groups(db) -> None:
    """The Support and Finance groups, as migration 0004 makes them (transactional tests
    flush the tables, so they are made again, by the migration's own function)."""
    staff_groups_migration.create_groups(apps)


def staff_in(group: str):
    user = StaffFactory()
    user.groups.add(Group.objects.get(name=group))
    return user


@pytest.fixture
def support_user(staff_groups):
    return staff_in("Support")


@pytest.fixture
def finance_user(staff_groups):
    return staff_in("Finance")


@pytest.fixture
def superuser(db):
    return StaffFactory(is_superuser=True)


@pytest.fixture
def buyer(db):
    return UserFactory()


@pytest.fixture
def stocked_product(db):
    return ProductFactory(price=Decimal("2500.00"), stock=10)


def placed_order(customer, product, quantity: int = 2, method: str = "bank_transfer") -> Order:
    """A pending_payment order placed through checkout (its units locked)."""
    return place(customer, [(product, quantity)], payment_method=method).order


def paid_order(customer, product, quantity: int = 2) -> Order:
    order = placed_order(customer, product, quantity)
    return mark_paid(order_id=order.pk, amount=order.total, currency=order.currency)
