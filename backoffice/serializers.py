"""Input and output shapes of the staff order API."""

from decimal import Decimal
from typing import Any

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from backoffice import services as staff
from orders.models import Order, OrderEvent
from orders.serializers import OrderItemOutputSerializer, ShippingAddressSerializer
from orders.states import OrderState, PaymentStatus
from payments.models import Refund
from shop.models import MONEY

MIN_AMOUNT = Decimal("0.01")


class StaffOrderSummarySerializer(serializers.ModelSerializer[Order]):
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


class StaffEventSerializer(serializers.ModelSerializer[OrderEvent]):
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
        return event.actor.email if event.actor is not None else None


class StaffRefundSerializer(serializers.ModelSerializer[Refund]):
    payment = serializers.CharField(source="payment.reference")
    unapplied = serializers.SerializerMethodField(
        help_text="The refunded payment did not pay for the order (paid after cancellation, "
        "paid twice, a late transfer)."
    )

    class Meta:
        model = Refund
        fields = [
            "id",
            "payment",
            "unapplied",
            "amount",
            "currency",
            "status",
            "outcome_unknown",
            "manual",
            "origin",
            "gateway_refund_id",
            "reason",
            "customer_message",
            "failure_reason",
            "created_at",
            "processed_at",
        ]

    def get_unapplied(self, refund: Refund) -> bool:
        return not refund.payment.applied


class UnappliedPaymentSerializer(serializers.Serializer[Any]):
    reference = serializers.CharField()
    gateway = serializers.CharField()
    amount = serializers.DecimalField(max_digits=12, decimal_places=2)
    refundable = serializers.DecimalField(max_digits=12, decimal_places=2)


class StaffOrderDetailSerializer(StaffOrderSummarySerializer):
    items = OrderItemOutputSerializer(many=True)
    shipping_address = ShippingAddressSerializer()
    refundable_balance = serializers.SerializerMethodField()
    status_targets = serializers.SerializerMethodField()
    refunds = serializers.SerializerMethodField()
    unapplied_payments = serializers.SerializerMethodField(
        help_text="Money without an order to pay for, to refund (the refund's `payment`)."
    )
    timeline = StaffEventSerializer(source="events", many=True)

    class Meta(StaffOrderSummarySerializer.Meta):
        fields = [
            *StaffOrderSummarySerializer.Meta.fields,
            "subtotal",
            "shipping",
            "discount",
            "refund_pending",
            "refundable_balance",
            "refunds",
            "unapplied_payments",
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

    @extend_schema_field(StaffRefundSerializer(many=True))
    def get_refunds(self, order: Order) -> list[dict[str, Any]]:
        refunds = Refund.objects.filter(payment__order=order).select_related("payment")
        serializer = StaffRefundSerializer(refunds.order_by("created_at", "pk"), many=True)
        # many=True builds a ListSerializer, whose data is a list; the stubs keep the child's type.
        return serializer.data  # type: ignore[return-value]

    @extend_schema_field(UnappliedPaymentSerializer(many=True))
    def get_unapplied_payments(self, order: Order) -> list[dict[str, Any]]:
        return [
            {"reference": p.reference, "gateway": p.gateway, "amount": p.amount, "refundable": left}
            for p, left in staff.unapplied_money(order)
        ]


class StaffRefundResultSerializer(StaffOrderDetailSerializer):
    """The order after a refund request, and the refund it made (``processed``, or ``pending``
    until the gateway confirms it)."""

    refund = serializers.SerializerMethodField()

    class Meta(StaffOrderDetailSerializer.Meta):
        fields = [*StaffOrderDetailSerializer.Meta.fields, "refund"]

    @extend_schema_field(StaffRefundSerializer)
    def get_refund(self, order: Order) -> dict[str, Any]:
        return StaffRefundSerializer(self.context["refund"]).data


class StaffOrderFilterSerializer(serializers.Serializer[Any]):
    state = serializers.ChoiceField(choices=OrderState.choices, required=False)
    payment_status = serializers.ChoiceField(choices=PaymentStatus.choices, required=False)
    payment_method = serializers.CharField(required=False, max_length=32)
    needs_attention = serializers.BooleanField(required=False, allow_null=True, default=None)
    created_from = serializers.DateField(required=False)
    created_to = serializers.DateField(required=False)
    search = serializers.CharField(required=False, default="", max_length=100)


class ReasonInputSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=1000)


class CustomerMessageMixin(serializers.Serializer[Any]):
    customer_message = serializers.CharField(
        max_length=500,
        required=False,
        default="",
        allow_blank=True,
        help_text="What the customer's email or SMS says (the reason stays internal).",
    )


class StaffCancelInputSerializer(CustomerMessageMixin, ReasonInputSerializer):
    pass


class OptionalReasonInputSerializer(serializers.Serializer[Any]):
    reason = serializers.CharField(max_length=1000, required=False, default="", allow_blank=True)


class StatusInputSerializer(OptionalReasonInputSerializer):
    to_state = serializers.ChoiceField(choices=list(staff.STATUS_TARGETS))
    tracking_number = serializers.CharField(max_length=100, required=False, allow_blank=True)
    carrier = serializers.CharField(max_length=100, required=False, allow_blank=True)


class RefundInputSerializer(CustomerMessageMixin, ReasonInputSerializer):
    amount = serializers.DecimalField(
        **MONEY, min_value=MIN_AMOUNT, required=False, allow_null=True, default=None
    )
    lines = serializers.DictField(
        child=serializers.IntegerField(min_value=1),
        required=False,
        allow_null=True,
        default=None,
        help_text="{product id: units}: the refund is worth their price unless amount is given",
    )
    restock = serializers.BooleanField(
        default=False,
        help_text="Put the lines' units back on stock when the refund is processed; with no "
        "lines, a refund of everything left restocks every unit not yet restocked.",
    )
    payment = serializers.CharField(
        max_length=64,
        required=False,
        allow_null=True,
        default=None,
        help_text="The reference of the payment to refund; needed only when the order holds "
        "money without an order to pay for beside its own (see unapplied_payments).",
    )

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
        return attrs


class BankTransferInputSerializer(OptionalReasonInputSerializer):
    amount = serializers.DecimalField(**MONEY, min_value=MIN_AMOUNT)
    reference = serializers.CharField(max_length=100)


class CashCollectedInputSerializer(OptionalReasonInputSerializer):
    amount = serializers.DecimalField(**MONEY, min_value=MIN_AMOUNT)
