import io

import pytest
from django.core.management import call_command

from ops.management.commands.seed_demo import Command
from shop.models import Product, User


def seed(*args: str) -> str:
    out = io.StringIO()
    call_command("seed_demo", *args, stdout=out)
    return out.getvalue()


@pytest.mark.django_db
def test_seed_demo_creates_catalog_and_accounts_once(monkeypatch):
    monkeypatch.setenv("DEMO_STAFF_PASSWORD", "staff-pass-for-tests-1")
    monkeypatch.delenv("DEMO_CUSTOMER_PASSWORD", raising=False)

    first = seed()

    assert "Products: 12 created, 0 existed." in first
    assert (
        "Staff (admin) account created: staff@demo.shop  password: staff-pass-for-tests-1" in first
    )
    assert Product.objects.filter(is_active=True, currency="NGN", stock__gt=0).count() == 12
    staff = User.objects.get(email="staff@demo.shop")
    assert (staff.is_staff, staff.is_superuser) == (True, True)
    assert staff.check_password("staff-pass-for-tests-1")
    customer = User.objects.get(email="customer@demo.shop")
    assert not customer.is_staff
    customer_password = first.split("customer@demo.shop  password: ")[1].split()[0]
    assert customer.check_password(customer_password)

    Product.objects.filter(sku="SKN-LIP-001").update(stock=3)
    monkeypatch.setenv("DEMO_STAFF_PASSWORD", "another-password-2")
    second = seed()

    assert "Products: 0 created, 12 existed." in second
    assert "staff@demo.shop already exists; password unchanged" in second
    assert "another-password-2" not in second
    assert User.objects.count() == 2
    assert Product.objects.count() == 12
    assert Product.objects.get(sku="SKN-LIP-001").stock == 3
    staff.refresh_from_db()
    assert staff.check_password("staff-pass-for-tests-1")


@pytest.mark.django_db
def test_seed_demo_reset_password_sets_a_new_one(monkeypatch):
    monkeypatch.setenv("DEMO_STAFF_PASSWORD", "first-password-1")
    seed()
    monkeypatch.setenv("DEMO_STAFF_PASSWORD", "second-password-2")

    out = seed("--reset-password")

    assert "staff@demo.shop: password reset to: second-password-2" in out
    assert User.objects.get(email="staff@demo.shop").check_password("second-password-2")


def test_seed_demo_help_says_what_it_changes():
    parser = Command().create_parser("manage.py", "seed_demo")
    text = " ".join(parser.format_help().split())
    assert "existing products are left as they are" in text
    assert "staff superuser staff@demo.shop" in text
    assert "--reset-password" in text
