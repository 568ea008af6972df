"""The small forms behind the order page's action buttons (admin)."""

from decimal import Decimal
from typing import Any

from django import forms

from orders.models import Order

MONEY_FIELD = {"max_digits": 12, "decimal_places": 2, "min_value": Decimal("0.01")}


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=1000)


class OptionalReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=1000, required=False
    )


class ShipForm(OptionalReasonForm):
    tracking_number = forms.CharField(max_length=100)
    carrier = forms.CharField(max_length=100)


class BankTransferForm(OptionalReasonForm):
    amount = forms.DecimalField(**MONEY_FIELD)
    reference = forms.CharField(max_length=100, help_text="The bank's reference of the transfer.")


class CashCollectedForm(OptionalReasonForm):
    amount = forms.DecimalField(**MONEY_FIELD)


class RefundForm(ReasonForm):
    """An amount, or units per order line (the refund is then their price)."""

    amount = forms.DecimalField(
        **MONEY_FIELD,
        required=False,
        help_text="Leave empty to refund the value of the units below.",
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, required=False, max_length=64)
    restock = forms.BooleanField(
        required=False, help_text="Put the refunded lines' units back on stock."
    )

    def __init__(self, *args: Any, order: Order, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.line_fields: dict[int, str] = {}  # product id -> field name
        for item in order.items.filter(product__isnull=False):
            name = f"line_{item.product_id}"
            self.fields[name] = forms.IntegerField(
                label=f"{item.name} ({item.sku}) x{item.quantity} @ {item.unit_price}",
                min_value=0,
                max_value=item.quantity - item.quantity_restocked,
                required=False,
            )
            self.line_fields[item.product_id] = name
        self.order_fields(["amount", *self.line_fields.values(), "restock", "reason"])

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        lines = {
            product_id: data[name]
            for product_id, name in self.line_fields.items()
            if data.get(name)  # empty or 0: not refunded
        }
        if data.get("amount") is None and not lines:
            raise forms.ValidationError("Give an amount or the units to refund.")
        if data.get("restock") and not lines:
            raise forms.ValidationError("Choose the units to put back on stock.")
        data["lines"] = lines or None
        return data
