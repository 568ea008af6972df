from django.db import models
from django.db.models import Q

from shop.models import Product


class InventoryLock(models.Model):
    """Units of a product held for an owner (an order number) until paid, released or expired.

    ``owner`` is a plain string so that inventory never imports the apps that hold stock.
    ``expires_at`` NULL means "held until released" (cash on delivery waits for staff).
    """

    product = models.ForeignKey(
        Product,
        on_delete=models.CASCADE,
        related_name="inventory_locks",
        db_index=False,  # inventory_lock_product_exp (product, expires_at) serves it
    )
    owner = models.CharField(max_length=64)
    quantity = models.PositiveIntegerField()
    expires_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(quantity__gt=0), name="inventory_lock_quantity_positive"
            ),
            models.UniqueConstraint(
                fields=["owner", "product"], name="inventory_lock_one_per_owner_product"
            ),
        ]
        indexes = [
            models.Index(fields=["product", "expires_at"], name="inventory_lock_product_exp"),
            models.Index(fields=["expires_at"], name="inventory_lock_expires_at"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} x product {self.product_id} for {self.owner}"


class StockHold(models.Model):
    """An upper bound of the units a product's locks hold, so that checkout need not sum them.

    ``reserve`` raises it (under the product's row lock) and checks ``stock >= bound``; only when
    that fails does it sum the locks exactly and reset the bound. ``commit`` lowers it by the
    locks it consumes. Releases, expiries and sweeps leave it alone (they take no product lock):
    the bound then over-counts, which can only send a reserve to the exact path, never oversell.
    """

    product = models.OneToOneField(
        Product, on_delete=models.CASCADE, primary_key=True, related_name="stock_hold"
    )
    quantity = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.CheckConstraint(condition=Q(quantity__gte=0), name="stock_hold_non_negative"),
        ]

    def __str__(self) -> str:
        return f"product {self.product_id}: at most {self.quantity} held"


def active_lock_q(now) -> Q:
    """Locks that still hold stock at ``now``: expired ones stop counting immediately."""
    return Q(expires_at__isnull=True) | Q(expires_at__gt=now)
