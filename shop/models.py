from decimal import Decimal
from typing import Any, TypedDict

from django.conf import settings
from django.contrib.auth.models import AbstractUser, UserManager
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models
from django.db.models.functions import Lower

currency_code_validator = RegexValidator(r"^[A-Z]{3}$", "Use a 3-letter ISO 4217 code.")
country_code_validator = RegexValidator(r"^[A-Z]{2}$", "Use a 2-letter ISO 3166-1 code.")


class MoneyDigits(TypedDict):
    max_digits: int
    decimal_places: int


MONEY: MoneyDigits = {"max_digits": 12, "decimal_places": 2}  # DecimalField(**MONEY)


def default_currency() -> str:
    return settings.SHOP_DEFAULT_CURRENCY


def normalize_customer_email(email: str) -> str:
    """The form in which an account's email is stored and compared.

    Input checks must measure this form, not the typed one: lowercasing can lengthen a string
    ("İ".lower() is two characters), so a typed address within the column's limit may not be.
    """
    return UserManager.normalize_email(email.strip()).lower()


class CustomerManager(UserManager["User"]):
    """Email is the login; usernames do not exist."""

    use_in_migrations = True

    def _create_user(  # type: ignore[override]
        self, email: str, password: str | None, **extra_fields: Any
    ) -> "User":
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=normalize_customer_email(email), **extra_fields)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(  # type: ignore[override]
        self, email: str, password: str | None = None, **extra_fields: Any
    ) -> "User":
        extra_fields.setdefault("is_staff", False)
        extra_fields.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra_fields)

    def create_superuser(  # type: ignore[override]
        self, email: str, password: str | None = None, **extra_fields: Any
    ) -> "User":
        extra_fields.setdefault("is_staff", True)
        extra_fields.setdefault("is_superuser", True)
        return self._create_user(email, password, **extra_fields)

    def get_by_natural_key(self, email: str) -> "User":  # type: ignore[override]
        return self.get(email__iexact=email)


class User(AbstractUser):
    username = None  # type: ignore[assignment]
    email = models.EmailField("email address", unique=True)
    phone = models.CharField(max_length=20, blank=True, help_text="E.164, e.g. +2348031234567")
    sms_opt_out = models.BooleanField(default=False, help_text="Customer declined SMS updates.")
    email_verified_at = models.DateTimeField(
        null=True, blank=True, help_text="When the customer followed the verification link."
    )
    erased_at = models.DateTimeField(
        null=True, blank=True, help_text="When the customer's personal data was erased."
    )

    USERNAME_FIELD = "email"
    EMAIL_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = CustomerManager()

    class Meta:
        constraints = [
            models.UniqueConstraint(Lower("email"), name="user_email_unique_ci"),
        ]

    def __str__(self) -> str:
        return self.email

    @property
    def email_verified(self) -> bool:
        return self.email_verified_at is not None


class Product(models.Model):
    sku = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    price = models.DecimalField(
        max_digits=12, decimal_places=2, validators=[MinValueValidator(Decimal("0.00"))]
    )
    currency = models.CharField(
        max_length=3, default=default_currency, validators=[currency_code_validator]
    )
    stock = models.PositiveIntegerField(default=0, help_text="Units on hand.")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(stock__gte=0), name="product_stock_non_negative"
            ),
            models.CheckConstraint(
                condition=models.Q(price__gte=0), name="product_price_non_negative"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.sku} {self.name}"


class Cart(models.Model):
    customer = models.OneToOneField(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="cart"
    )
    currency = models.CharField(
        max_length=3, blank=True, help_text="Set by the first line; a cart holds one currency."
    )
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"Cart of {self.customer}"


class CartItem(models.Model):
    cart = models.ForeignKey(
        Cart,
        on_delete=models.CASCADE,
        related_name="items",
        db_index=False,  # the unique (cart, product) serves it
    )
    product = models.ForeignKey(Product, on_delete=models.PROTECT, related_name="+")
    quantity = models.PositiveIntegerField()
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(
                fields=["cart", "product"], name="cart_item_one_line_per_product"
            ),
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="cart_item_quantity_positive"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x {self.product_id}"


class Address(models.Model):
    # What a person writes on a parcel: the order keeps exactly these (``snapshot``).
    POSTAL_FIELDS = (
        "full_name", "phone", "line1", "line2", "city", "state", "postal_code", "country",
    )  # fmt: skip
    # What the customer edits in the address book.
    EDITABLE_FIELDS = (*POSTAL_FIELDS, "is_default")

    customer = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="addresses"
    )
    full_name = models.CharField(max_length=200)
    phone = models.CharField(max_length=20, help_text="E.164")
    line1 = models.CharField(max_length=200)
    line2 = models.CharField(max_length=200, blank=True)
    city = models.CharField(max_length=100)
    state = models.CharField(max_length=100, blank=True)
    postal_code = models.CharField(max_length=20, blank=True)
    country = models.CharField(max_length=2, validators=[country_code_validator])
    is_default = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-is_default", "id"]
        verbose_name_plural = "addresses"
        constraints = [
            models.UniqueConstraint(
                fields=["customer"],
                condition=models.Q(is_default=True),
                name="address_one_default_per_customer",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.full_name}, {self.line1}, {self.city} {self.country}"

    def snapshot(self) -> dict[str, str]:
        """The address as an order keeps it: later edits of the book do not change the order."""
        return {field: getattr(self, field) for field in self.POSTAL_FIELDS}


class PlatformSetting(models.Model):
    """A business rule editable by staff; the registry in shop.platform_settings types it."""

    key = models.CharField(max_length=100, unique=True)
    value = models.JSONField()
    description = models.TextField(blank=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["key"]

    def __str__(self) -> str:
        return self.key
