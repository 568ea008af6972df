"""Availability as shop reads it: the units of a product a customer may still buy.

Stock keeping (locks, holds, the ledger) is inventory's, and inventory builds on shop (its rows
point at products), so shop does not import it. Inventory hands shop its one definition of
availability when the apps start (``inventory.apps``); the catalog and the cart read it here.
"""

from collections.abc import Callable
from datetime import datetime

from django.core.exceptions import ImproperlyConfigured
from django.db.models.expressions import Combinable

# now -> an expression over Product rows: the units free at that instant, never below 0.
AvailableUnits = Callable[[datetime], Combinable]

_provided: dict[str, AvailableUnits] = {}


def provide_available_units(definition: AvailableUnits) -> None:
    """Called once by the stock-keeping app at start-up."""
    _provided["available_units"] = definition


def available_units(now: datetime) -> Combinable:
    try:
        definition = _provided["available_units"]
    except KeyError:
        raise ImproperlyConfigured(
            "No app provides availability: add inventory to INSTALLED_APPS."
        ) from None
    return definition(now)
