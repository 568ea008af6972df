"""Formatting for message templates: money as "NGN 12,500.00"."""

from decimal import Decimal, InvalidOperation

from django import template

register = template.Library()


@register.filter
def money(value: object, currency: str = "") -> str:
    """A Decimal string with thousands separators and two places, prefixed by its currency."""
    try:
        amount = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    text = f"{amount:,.2f}"
    return f"{currency} {text}" if currency else text
