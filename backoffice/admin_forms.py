"""The small forms behind the order page's action buttons (admin)."""

from decimal import Decimal
from typing import Any

from django import forms

from orders.models import Order
from shop.models import MONEY

MIN_AMOUNT = Decimal("0.01")


class ReasonForm(forms.Form):
    reason = forms.CharField(widget=forms.Textarea(attrs={"rows": 3}), max_length=1000)


class CustomerMessageField(forms.CharField):
    def __init__(self) -> None:
        super().__init__(
            widget=forms.Textarea(attrs={"rows": 2}),
            max_length=500,
            required=False,
            help_text="What the customer's email or SMS says. The reason above is internal.",
        )


class CancelForm(ReasonForm):
    customer_message = CustomerMessageField()


class OptionalReasonForm(forms.Form):
    reason = forms.CharField(
        widget=forms.Textarea(attrs={"rows": 3}), max_length=1000, required=False
    )


class ShipForm(OptionalReasonForm):
    tracking_number = forms.CharField(max_length=100)
    carrier = forms.CharField(max_length=100)


class BankTransferForm(OptionalReasonForm):
    amount = forms.DecimalField(**MONEY, min_value=MIN_AMOUNT)
    reference = forms.CharField(max_length=100, help_text="The bank's reference of the transfer.")


class CashCollectedForm(OptionalReasonForm):
    amount = forms.DecimalField(**MONEY, min_value=MIN_AMOUNT)


class RefundForm(ReasonForm):
    """An amount, or units per order line (the refund is then their price). The hidden key is
    made when the form is shown: submitting the same form twice refunds once."""

    amount = forms.DecimalField(
        **MONEY,
        min_value=MIN_AMOUNT,
        required=False,
        help_text="Leave empty to refund the value of the units below.",
    )
    idempotency_key = forms.CharField(widget=forms.HiddenInput, max_length=64)
    restock = forms.BooleanField(
        required=False,
        help_text="Put the refunded units back on stock. With no units chosen, a refund of "
        "the whole refundable balance restocks every unit still off the shelf.",
    )
    customer_message = CustomerMessageField()

    def __init__(
        self,
        *args: Any,
        order: Order,
        refundable: Decimal,
        unapplied: list[tuple[str, Decimal]],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        self.refundable = refundable
        self.line_fields: dict[int, str] = {}  # product id -> field name
        for item in order.items.filter(product__isnull=False):
            name = f"line_{item.product_id}"
            self.fields[name] = forms.IntegerField(
                label=f"{item.name} ({item.sku}) x{item.quantity} @ {item.unit_price}",
                min_value=0,
                max_value=item.quantity,
                required=False,
            )
            self.line_fields[item.product_id] = name
        if unapplied:
            self.fields["payment"] = forms.ChoiceField(
                choices=[("", "The order's own payment")]
                + [(ref, f"{ref}: {left} {order.currency} not applied") for ref, left in unapplied],
                required=False,
                help_text="Money without an order to pay for (paid after cancellation, paid "
                "twice, a late transfer) is refunded against its own payment.",
            )
        self.order_fields(
            ["payment", "amount", *self.line_fields.values(), "restock", "reason",
             "customer_message"]
        )  # fmt: skip

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        lines = {
            product_id: data[name]
            for product_id, name in self.line_fields.items()
            if data.get(name)  # empty or 0: not refunded
        }
        data["payment"] = data.get("payment") or None
        if data.get("amount") is None and not lines and data["payment"] is None:
            raise forms.ValidationError("Give an amount or the units to refund.")
        if data.get("restock") and not lines and data.get("amount") != self.refundable:
            raise forms.ValidationError("Choose the units to put back on stock.")
        data["lines"] = lines or None
        return data
