"""The staff form of a stock adjustment (the product page's "Adjust stock")."""

from typing import Any

from django import forms

from inventory.adjustments import MAX_STOCK

ADD, REMOVE, SET = "add", "remove", "set"


class StockAdjustmentForm(forms.Form):
    mode = forms.ChoiceField(
        choices=[
            (ADD, "Add units (a delivery, a return to the shelf)"),
            (REMOVE, "Remove units (damaged, lost, taken for samples)"),
            (SET, "Set to a counted figure (stock take)"),
        ],
        widget=forms.RadioSelect,
        initial=ADD,
    )
    quantity = forms.IntegerField(
        min_value=0, max_value=MAX_STOCK, help_text="Units to add or remove, or the counted figure."
    )
    # The stock shown when the form was drawn: a "set" is refused if it moved since.
    stock_seen = forms.IntegerField(min_value=0, max_value=MAX_STOCK, widget=forms.HiddenInput)
    reason = forms.CharField(
        max_length=500,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Why the stock changes; it goes into the stock ledger.",
    )

    def clean(self) -> dict[str, Any]:
        super().clean()
        data = self.cleaned_data
        if data.get("mode") in (ADD, REMOVE) and data.get("quantity") == 0:
            self.add_error("quantity", "Add or remove at least one unit.")
        return data

    def adjustment(self) -> dict[str, Any]:
        """The keyword arguments of ``inventory.adjustments.adjust_stock`` for this form."""
        data = self.cleaned_data
        if data["mode"] == SET:
            return {"set_to": data["quantity"], "expected_stock": data["stock_seen"]}
        sign = 1 if data["mode"] == ADD else -1
        return {"delta": sign * data["quantity"]}
