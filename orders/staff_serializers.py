"""Input and output shapes of the staff order API."""

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from orders.models import Order, OrderEvent
from orders.serializers import OrderItemOutputSerializer, ShippingAddressSerializer
from orders.services import staff
from orders.states import OrderState, PaymentStatus

MONEY = {"max_digits": 12, "decimal_places": 2, "min_value": Decimal("0.01")}


class StaffOrderSummarySerializer(serializers.ModelSerializer):
    customer_email = serializers.EmailField(source="customer.email")
    state = serializers.ChoiceField(choices=OrderState.choices)
    payment_status = serializers.ChoiceField(choices=PaymentStatus.choices)

    class Meta:
        model = Order
        fields = [
            "id",
            "number",
            "customer_email",
            "state",
            "payment_status",
            "payment_method",
            "currency",
            "total",
            "amount_refunded",
            "needs_attention",
            "created_at",
        ]


class StaffEventSerializer(serializers.ModelSerializer):
    actor_email = serializers.SerializerMethodField()

    class Meta:
        model = OrderEvent
        fields = [
            "id",
            "kind",
            "from_state",
            "to_state",
            "actor_type",
            "actor_email",
            "reason",
            "payload",
            "created_at",
        ]

    def get_actor_email(self, event: OrderEvent) -> str | None:
        return event.actor.email if event.actor_id else None


class StaffOrderDetailSerializer(StaffOrderSummarySerializer):
    items = OrderItemOutputSerializer(many=True)
    shipping_address = ShippingAddressSerializer()
    refundable_balance = serializers.SerializerMethodField()
    status_targets = serializers.SerializerMethodField()
    timeline = StaffEventSerializer(source="events", many=True)

    class Meta(StaffOrderSummarySerializer.Meta):
        fields = [
            *StaffOrderSummarySerializer.Meta.fields,
            "subtotal",
            "shipping",
            "discount",
            "refundable_balance",
            "status_targets",
            "items",
            "shipping_address",
            "note",
            "tracking_number",
            "carrier",
            "attention_reason",
            "paid_at",
            "timeline",
        ]

    @extend_schema_field(serializers.DecimalField(max_digits=12, decimal_places=2))
    def get_refundable_balance(self, order: Order) -> str:
        return str(staff.refundable_balance(order))

    def get_status_targets(self, order: Order) -> list[str]:
        return staff.status_targets(order)


class StaffOrderFilterSerializer(serializers.Serializer):
    state = serializers.ChoiceField(choices=OrderState.choices, required=False)
    payment_status = serializers.ChoiceField(choices=PaymentStatus.choices, required=False)
    payment_method = serializers.CharField(required=False, max_length=32)
    needs_attention = serializers.BooleanField(required=False, allow_null=True, default=None)
    created_from = serializers.DateField(required=False)
    created_to = serializers.DateField(required=False)
    search = serializers.CharField(required=False, default="", max_length=100)


class ReasonInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000)


class OptionalReasonInputSerializer(serializers.Serializer):
    reason = serializers.CharField(max_length=1000, required=False, default="", allow_blank=True)


class StatusInputSerializer(OptionalReasonInputSerializer):
    to_state = serializers.ChoiceField(choices=list(staff.STATUS_TARGETS))
    tracking_number = serializers.CharField(max_length=100, required=False, allow_blank=True)
    carrier = serializers.CharField(max_length=100, required=False, allow_blank=True)


class RefundInputSerializer(ReasonInputSerializer):
    amount = serializers.DecimalField(**MONEY, required=False, allow_null=True, default=None)
    lines = serializers.DictField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        allow_null=True,
        default=None,
        help_text="{product id: units}: the refund is worth their price unless amount is given",
    )
    restock = serializers.BooleanField(default=False)

    def validate_lines(self, lines: dict[str, int] | None) -> dict[int, int] | None:
        if not lines:
            return None
        try:
            return {int(item_id): units for item_id, units in lines.items()}
        except ValueError:
            raise serializers.ValidationError("Keys are product ids.") from None

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        if attrs.get("amount") is None and not attrs.get("lines"):
            raise serializers.ValidationError({"amount": "Give an amount or lines to refund."})
        if attrs.get("restock") and not attrs.get("lines"):
            raise serializers.ValidationError({"lines": "Choose the lines to put back on stock."})
        return attrs


class BankTransferInputSerializer(OptionalReasonInputSerializer):
    amount = serializers.DecimalField(**MONEY)
    reference = serializers.CharField(max_length=100)


class CashCollectedInputSerializer(OptionalReasonInputSerializer):
    amount = serializers.DecimalField(**MONEY)
