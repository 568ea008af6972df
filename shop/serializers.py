"""Input serializers validate shapes; output serializers render. Rules live in services."""

from typing import Any

from django.conf import settings
from rest_framework import serializers
from rest_framework.fields import empty

from core.phones import is_supported_country
from shop.models import Address, Product, User, normalize_customer_email

EMAIL_MAX_LENGTH = User._meta.get_field("email").max_length


class CustomerEmailField(serializers.EmailField):
    """An account's email: checked as typed, answered in the form it will be stored in.

    The stored form must fit the column too: lowercasing can lengthen an address ("İ".lower()
    is two characters), so one within the limit as typed may not be once normalised.
    """

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("max_length", EMAIL_MAX_LENGTH)
        super().__init__(**kwargs)

    def run_validation(self, data: object = empty) -> str:
        email = normalize_customer_email(super().run_validation(data))
        if self.max_length is not None and len(email) > self.max_length:
            self.fail("max_length", max_length=self.max_length)
        return email


class ProductFilterSerializer(serializers.Serializer[Any]):
    # CharField refuses NUL characters, which PostgreSQL cannot compare with text. The length
    # cap bounds the work of an anonymous request: every word adds three ILIKE conditions, and
    # building the query for a couple of thousand words takes seconds of CPU.
    search = serializers.CharField(
        required=False,
        allow_blank=True,
        default="",
        max_length=100,
        help_text="Words to find in the name, SKU or description (every word must match).",
    )


class ProductOutputSerializer(serializers.ModelSerializer[Product]):
    available = serializers.IntegerField(read_only=True, help_text="Units that can be bought.")

    class Meta:
        model = Product
        fields = ["id", "sku", "name", "description", "price", "currency", "available"]
        read_only_fields = fields


def _quantity_field(**kwargs: Any) -> serializers.IntegerField:
    return serializers.IntegerField(
        min_value=1,
        max_value=settings.CART_MAX_QUANTITY,
        help_text=f"Units, 1 to {settings.CART_MAX_QUANTITY} per line.",
        **kwargs,
    )


class CartItemAddInputSerializer(serializers.Serializer[Any]):
    product_id = serializers.IntegerField(min_value=1)
    quantity = _quantity_field()


class CartItemUpdateInputSerializer(serializers.Serializer[Any]):
    quantity = _quantity_field()


class CartProductSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    sku = serializers.CharField()
    name = serializers.CharField()


class CartLineOutputSerializer(serializers.Serializer[Any]):
    id = serializers.IntegerField()
    product = CartProductSerializer()
    quantity = serializers.IntegerField()
    unit_price = serializers.DecimalField(max_digits=12, decimal_places=2)
    line_total = serializers.DecimalField(max_digits=14, decimal_places=2)


class AdjustmentOutputSerializer(serializers.Serializer[Any]):
    kind = serializers.CharField(help_text="shipping, discount…")
    label = serializers.CharField()  # type: ignore[assignment]  # a declared field, not Field.label
    code = serializers.CharField(allow_blank=True)
    amount = serializers.DecimalField(
        max_digits=12, decimal_places=2, help_text="Positive; its kind says on which side."
    )


class CartOutputSerializer(serializers.Serializer[Any]):
    items = CartLineOutputSerializer(many=True)
    item_count = serializers.IntegerField(help_text="Total units in the cart.")
    currency = serializers.CharField(help_text="Empty while the cart is empty.")
    subtotal = serializers.DecimalField(
        max_digits=14, decimal_places=2, required=False, help_text="Only with adjustments."
    )
    adjustments = AdjustmentOutputSerializer(
        many=True, required=False, help_text="Shipping, discounts…; absent when there are none."
    )
    total = serializers.DecimalField(max_digits=14, decimal_places=2)


class AddressInputSerializer(serializers.Serializer[Any]):
    """An address as a customer types it; reused by checkout for a one-off address."""

    full_name = serializers.CharField(max_length=200)
    phone = serializers.CharField(max_length=32, help_text="Normalised to E.164.")
    line1 = serializers.CharField(max_length=200)
    line2 = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")
    city = serializers.CharField(max_length=100)
    state = serializers.CharField(max_length=100, required=False, allow_blank=True, default="")
    postal_code = serializers.CharField(max_length=20, required=False, allow_blank=True, default="")
    country = serializers.CharField(
        min_length=2, max_length=2, help_text="ISO 3166-1 alpha-2, e.g. NG."
    )
    is_default = serializers.BooleanField(required=False, default=False)

    def validate_country(self, value: str) -> str:
        value = value.upper()
        if not is_supported_country(value):
            raise serializers.ValidationError("Use a 2-letter ISO 3166-1 country code, e.g. NG.")
        return value


class AddressOutputSerializer(serializers.ModelSerializer[Address]):
    class Meta:
        model = Address
        fields = ["id", *Address.EDITABLE_FIELDS, "created_at", "updated_at"]
        read_only_fields = fields
