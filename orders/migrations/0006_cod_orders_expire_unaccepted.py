"""Cash-on-delivery orders now expire when staff do not accept them within
``checkout.cod_acceptance_hours`` (platform setting, default 72), and their stock locks with
them. Orders placed before held their stock forever (``expires_at`` NULL): each one still
waiting for acceptance gets that many hours from now, not from when it was placed, so staff
have the whole window to accept what they mean to, instead of a mass expiry at deploy.

Reversed, every COD order still waiting and its locks hold forever again, as the earlier
code expects.
"""

from datetime import timedelta

from django.db import migrations
from django.utils import timezone

COD = "cod"
UNPAID_STATES = ["pending_payment", "payment_failed"]
SETTING = "checkout.cod_acceptance_hours"
DEFAULT_HOURS = 72
MAX_HOURS = 24 * 90


def _acceptance_hours(apps) -> int:
    row = apps.get_model("shop", "PlatformSetting").objects.filter(key=SETTING).first()
    value = row.value if row is not None else None
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value <= MAX_HOURS:
        return value
    return DEFAULT_HOURS


def _waiting_cod_orders(apps):
    return apps.get_model("orders", "Order").objects.filter(
        payment_method=COD, state__in=UNPAID_STATES
    )


def give_waiting_cod_orders_an_expiry(apps, schema_editor):
    expires_at = timezone.now() + timedelta(hours=_acceptance_hours(apps))
    waiting = _waiting_cod_orders(apps).filter(expires_at__isnull=True)
    # Locks first: they are found through the orders not yet updated.
    apps.get_model("inventory", "InventoryLock").objects.filter(
        owner__in=waiting.values("number"), expires_at__isnull=True
    ).update(expires_at=expires_at)
    waiting.update(expires_at=expires_at)


def hold_waiting_cod_orders_forever(apps, schema_editor):
    waiting = _waiting_cod_orders(apps)
    apps.get_model("inventory", "InventoryLock").objects.filter(
        owner__in=waiting.values("number")
    ).update(expires_at=None)
    waiting.update(expires_at=None)


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0005_drop_fk_indexes_covered_by_composites"),
        ("inventory", "0005_stock_movement_append_only"),
        ("shop", "0002_drop_cart_item_cart_index"),
    ]

    operations = [
        migrations.RunPython(give_waiting_cod_orders_an_expiry, hold_waiting_cod_orders_forever)
    ]
