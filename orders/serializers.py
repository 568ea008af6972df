"""Input parsing and output rendering for the order API (no business rules here)."""

import copy
from datetime import datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError as DjangoValidationError
from django.utils import timezone
from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from core.phones import normalize_phone
from orders.events import customer_timeline
from orders.models import Order, OrderItem
from orders.payment_methods import payment_method_or_none
from orders.states import OrderState, PaymentStatus
from shop.serializers import AddressInputSerializer


class CheckoutAddressInputSerializer(AddressInputSerializer):
    """A one-off delivery address; the phone is normalised here so the order's snapshot holds
    E.164 even when the address is not saved to the book."""

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        attrs = super().validate(attrs)
        try:
            attrs["phone"] = normalize_phone(attrs["phone"], attrs["country"])
        except DjangoValidationError as exc:
            raise serializers.ValidationError({"phone": exc.messages}) from exc
        return attrs


def default_payment_method() -> str:
    """The method of a checkout that names none (read per request: settings may be overridden)."""
    return str(settings.DEFAULT_PAYMENT_GATEWAY)


class CheckoutInputSerializer(serializers.Serializer):
    payment_method = serializers.CharField(
        max_length=32,
        required=False,
        default=default_payment_method,
        help_text=(
            "How the customer pays: `paystack`, `stripe`, `flutterwave`, `bank_transfer` or "
            "`cod`, as the shop offers them. Optional: without it the shop's default "
            "(the `DEFAULT_PAYMENT_GATEWAY` setting, `paystack` unless configured) is used "
            "when the shop offers it; otherwise the answer is 400 `payment_method_not_allowed` "
            "with the methods available in `details.available`."
        ),
    )
    address_id = serializers.IntegerField(required=False, min_value=1)
    address = CheckoutAddressInputSerializer(required=False)
    save_address = serializers.BooleanField(required=False, default=False)
    expected_total = serializers.DecimalField(
        max_digits=12, decimal_places=2, required=False, min_value=0
    )
    note = serializers.CharField(max_length=1000, required=False, allow_blank=True, default="")

    def get_fields(self) -> dict[str, serializers.Field]:
        # DRF deep-copies every declared field for each serializer, running each field's
        # __init__ again: 54 of the 119 us that validating a checkout body cost here. A
        # shallow copy per serializer is enough: bind() sets only the copy's own attributes,
        # and validation reads the validators and messages it shares without changing them.
        return {name: copy.copy(field) for name, field in self._declared_fields.items()}

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if ("address_id" in attrs) == ("address" in attrs):
            raise serializers.ValidationError(
                {"address": "Send either address_id (from your address book) or address."}
            )
        return attrs


class OrderItemOutputSerializer(serializers.ModelSerializer):
    class Meta:
        model = OrderItem
        fields = ["id", "product_id", "sku", "name", "unit_price", "quantity", "line_total"]


class ShippingAddressSerializer(serializers.Serializer):
    full_name = serializers.CharField()
    phone = serializers.CharField()
    line1 = serializers.CharField()
    line2 = serializers.CharField()
    city = serializers.CharField()
    state = serializers.CharField()
    postal_code = serializers.CharField()
    country = serializers.CharField()


class OrderSummarySerializer(serializers.ModelSerializer):
    item_count = serializers.IntegerField(read_only=True)
    state = serializers.ChoiceField(choices=OrderState.choices)
    payment_status = serializers.ChoiceField(choices=PaymentStatus.choices)

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "state",
            "payment_status",
            "payment_method",
            "currency",
            "total",
            "item_count",
            "created_at",
        ]


class OrderOutputSerializer(serializers.ModelSerializer):
    """An order as its customer sees it. ``context["items"]`` avoids a query when given."""

    state = serializers.ChoiceField(choices=OrderState.choices)
    payment_status = serializers.ChoiceField(choices=PaymentStatus.choices)
    items = serializers.SerializerMethodField()
    shipping_address = ShippingAddressSerializer()

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "state",
            "payment_status",
            "payment_method",
            "currency",
            "items",
            "subtotal",
            "shipping",
            "discount",
            "total",
            "amount_refunded",
            "shipping_address",
            "note",
            "tracking_number",
            "carrier",
            "expires_at",
            "created_at",
        ]

    @extend_schema_field(OrderItemOutputSerializer(many=True))
    def get_items(self, order: Order) -> list[dict[str, Any]]:
        items = self.context.get("items")
        return [_item_body(item) for item in (order.items.all() if items is None else items)]

    def to_representation(self, order: Order) -> dict[str, Any]:
        # Hand-rendered: checkout renders this on its hot path, and DRF's per-field machinery
        # cost more than all of checkout's SQL together. The declared fields above still
        # document the shape; test_order_rendering pins the two together.
        return {
            "id": order.pk,
            "number": order.number,
            "state": order.state,
            "payment_status": order.payment_status,
            "payment_method": order.payment_method,
            "currency": order.currency,
            "items": self.get_items(order),
            "subtotal": _money(order.subtotal),
            "shipping": _money(order.shipping),
            "discount": _money(order.discount),
            "total": _money(order.total),
            "amount_refunded": _money(order.amount_refunded),
            "shipping_address": order.shipping_address,
            "note": order.note,
            "tracking_number": order.tracking_number,
            "carrier": order.carrier,
            "expires_at": _datetime(order.expires_at),
            "created_at": _datetime(order.created_at),
        }


def _money(value: Decimal) -> str:
    return f"{Decimal(value):.2f}"


def _datetime(value: datetime | None) -> str | None:
    """As DRF renders a DateTimeField: local time zone, ISO 8601, ``Z`` for UTC."""
    if value is None:
        return None
    text = timezone.localtime(value).isoformat()
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def _item_body(item: OrderItem) -> dict[str, Any]:
    return {
        "id": item.pk,
        "product_id": item.product_id,
        "sku": item.sku,
        "name": item.name,
        "unit_price": _money(item.unit_price),
        "quantity": item.quantity,
        "line_total": _money(item.line_total),
    }


class TimelineEntrySerializer(serializers.Serializer):
    kind = serializers.CharField()
    state = serializers.CharField()
    message = serializers.CharField()
    at = serializers.DateTimeField()
    tracking_number = serializers.CharField(required=False)
    carrier = serializers.CharField(required=False)


class OrderDetailSerializer(OrderOutputSerializer):
    payment = serializers.SerializerMethodField()
    timeline = serializers.SerializerMethodField()

    class Meta(OrderOutputSerializer.Meta):
        fields = [*OrderOutputSerializer.Meta.fields, "payment", "timeline"]

    def to_representation(self, order: Order) -> dict[str, Any]:
        body = super().to_representation(order)
        body["payment"] = self.get_payment(order)
        body["timeline"] = self.get_timeline(order)
        return body

    @extend_schema_field(serializers.DictField())
    def get_payment(self, order: Order) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "method": order.payment_method,
            "status": order.payment_status,
            "amount": str(order.total),
            "amount_refunded": str(order.amount_refunded),
            "currency": order.currency,
            "instructions": None,
        }
        method = payment_method_or_none(order.payment_method)
        if method is not None and order.state == OrderState.PENDING_PAYMENT:
            summary["instructions"] = method.instructions(order)
        return summary

    @extend_schema_field(TimelineEntrySerializer(many=True))
    def get_timeline(self, order: Order) -> list[dict[str, Any]]:
        return TimelineEntrySerializer(customer_timeline(list(order.events.all())), many=True).data


class CheckoutOutputSerializer(OrderOutputSerializer):
    payment = serializers.DictField(
        help_text="bank_transfer: account and reference to quote; cod: nothing to pay now."
    )

    class Meta(OrderOutputSerializer.Meta):
        fields = [*OrderOutputSerializer.Meta.fields, "payment"]


class CancelInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=500, required=False, allow_blank=True, default="")
