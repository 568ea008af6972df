"""Demo data for `make run`: a skincare catalog in NGN, a staff account and a customer."""

import os
import secrets
from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand
from django.db import transaction

from inventory.adjustments import create_product
from shop.models import Product, User

STAFF_EMAIL = "staff@demo.shop"
CUSTOMER_EMAIL = "customer@demo.shop"

# (sku, name, price in NGN, stock, description)
DEMO_PRODUCTS: list[tuple[str, str, str, int, str]] = [
    ("SKN-CLN-001", "Gentle Foaming Cleanser 150ml", "8500.00", 40, "Sulfate-free daily cleanser."),
    ("SKN-CLN-002", "Black Soap Cleansing Bar", "3200.00", 60, "Handmade African black soap."),
    ("SKN-TON-001", "Hibiscus Hydrating Toner 200ml", "7800.00", 25, "Alcohol-free toner."),
    ("SKN-SER-001", "Vitamin C Brightening Serum 30ml", "15500.00", 18, "10% ascorbic acid."),
    ("SKN-SER-002", "Niacinamide 10% + Zinc Serum 30ml", "11200.00", 30, "Evens tone, calms oil."),
    ("SKN-SER-003", "Hyaluronic Acid Serum 30ml", "12800.00", 22, "Multi-weight hydration."),
    ("SKN-MOI-001", "Shea Butter Night Cream 50ml", "9900.00", 35, "Rich overnight moisture."),
    ("SKN-MOI-002", "Oil-Free Gel Moisturiser 50ml", "10500.00", 28, "Light gel for humid days."),
    ("SKN-SPF-001", "Invisible Sunscreen SPF 50 50ml", "13500.00", 45, "No white cast."),
    ("SKN-MSK-001", "Kaolin Clay Purifying Mask 100ml", "8900.00", 15, "Weekly deep clean."),
    ("SKN-EYE-001", "Caffeine Eye Cream 15ml", "9400.00", 12, "Depuffs and brightens."),
    ("SKN-LIP-001", "Cocoa Butter Lip Balm", "2500.00", 80, "Soothes dry lips."),
]


class Command(BaseCommand):
    help = (
        "Load demo data; safe to run again. Creates the demo products that are missing (by SKU; "
        f"existing products are left as they are), a staff superuser {STAFF_EMAIL} and a "
        f"customer {CUSTOMER_EMAIL} when missing, and prints their credentials. Passwords come "
        "from DEMO_STAFF_PASSWORD / DEMO_CUSTOMER_PASSWORD or are generated; an existing "
        "account's password is only changed with --reset-password."
    )

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument(
            "--reset-password",
            action="store_true",
            help="Set new passwords on the demo accounts when they already exist.",
        )

    def handle(self, *args: Any, reset_password: bool = False, **options: Any) -> None:
        with transaction.atomic():
            created = self._seed_products()
        self.stdout.write(f"Products: {created} created, {len(DEMO_PRODUCTS) - created} existed.")
        self._offer_dummy_gateway()
        self._seed_account(
            email=STAFF_EMAIL,
            label="Staff (admin)",
            env_var="DEMO_STAFF_PASSWORD",
            reset_password=reset_password,
            extra={"first_name": "Demo", "last_name": "Staff", "is_staff": True},
            superuser=True,
        )
        self._seed_account(
            email=CUSTOMER_EMAIL,
            label="Customer",
            env_var="DEMO_CUSTOMER_PASSWORD",
            reset_password=reset_password,
            extra={"first_name": "Ada", "last_name": "Obi", "phone": "+2348031234567"},
            superuser=False,
        )

    def _offer_dummy_gateway(self) -> None:
        """With DEBUG, offer the offline "dummy" gateway so a demo purchase needs no keys."""
        from django.conf import settings

        from shop.models import PlatformSetting
        from shop.platform_settings import get_setting, set_setting

        key = "checkout.allowed_payment_methods"
        if not settings.DEBUG or PlatformSetting.objects.filter(key=key).exists():
            return
        set_setting(key, [*get_setting(key), "dummy"])
        self.stdout.write("Payment method 'dummy' offered (DEBUG): a pay/decline page, no keys.")

    def _seed_products(self) -> int:
        # Through inventory, so each product's initial stock opens its stock ledger.
        existing = set(Product.objects.values_list("sku", flat=True))
        created = 0
        for sku, name, price, stock, description in DEMO_PRODUCTS:
            if sku in existing:
                continue
            product = Product(
                sku=sku,
                name=name,
                price=Decimal(price),
                currency="NGN",
                stock=stock,
                description=description,
            )
            create_product(product=product, reason="Demo data")
            created += 1
        return created

    def _seed_account(
        self,
        *,
        email: str,
        label: str,
        env_var: str,
        reset_password: bool,
        extra: dict[str, Any],
        superuser: bool,
    ) -> None:
        password = os.environ.get(env_var) or secrets.token_urlsafe(12)
        user = User.objects.filter(email__iexact=email).first()
        if user is None:
            create = User.objects.create_superuser if superuser else User.objects.create_user
            create(email=email, password=password, **extra)
            self.stdout.write(f"{label} account created: {email}  password: {password}")
        elif reset_password:
            user.set_password(password)
            user.save(update_fields=["password"])
            self.stdout.write(f"{label} account {email}: password reset to: {password}")
        else:
            self.stdout.write(
                f"{label} account {email} already exists; password unchanged "
                "(use --reset-password to set a new one)."
            )
