"""Shop reads availability through ``shop.stock``, defined once by inventory."""

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.utils import timezone

from inventory import selectors as inventory_selectors
from shop import stock


def test_inventory_provides_the_one_definition_of_availability():
    assert stock._provided["available_units"] is inventory_selectors.available_units


def test_without_a_stock_keeping_app_reading_availability_says_what_is_missing(monkeypatch):
    monkeypatch.setattr(stock, "_provided", {})

    with pytest.raises(ImproperlyConfigured, match="inventory"):
        stock.available_units(timezone.now())
