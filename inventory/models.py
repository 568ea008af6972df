from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone

from shop.models import Product


class InventoryLock(models.Model):
    """Units of a product held for an owner (an order number) until paid, released or expired.

    ``owner`` is a plain string so that inventory never imports the apps that hold stock.
    ``expires_at`` NULL means "held until released".
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


class StockMovementAppendOnly(Exception):
    pass


class MovementKind(models.TextChoices):
    INITIAL = "initial", "Initial stock"
    ADJUSTMENT = "adjustment", "Staff adjustment"
    SALE = "sale", "Sold (paid or COD accepted)"
    RESTOCK_CANCEL = "restock_cancel", "Restocked: order cancelled"
    RESTOCK_REFUND = "restock_refund", "Restocked: refund"


class StockMovement(models.Model):
    """The stock ledger: one row per product for every change of ``Product.stock`` (initial
    stock, staff adjustments, sales, restocks), written in the change's own transaction under
    the product's row lock, so ``stock_after`` is the stock the change left.

    Append-only like the order timeline: the model refuses updates and deletes, and on
    PostgreSQL a trigger refuses them too (migration ``0005``). ``order_number`` is a plain
    string, like ``InventoryLock.owner``: inventory never imports orders.
    """

    Kind = MovementKind

    product = models.ForeignKey(
        Product,
        on_delete=models.PROTECT,  # the ledger outlives nothing it describes
        related_name="stock_movements",
        db_index=False,  # stock_movement_product_time (product, created_at) serves it
    )
    delta = models.IntegerField(help_text="Units added (positive) or taken off (negative).")
    stock_after = models.PositiveIntegerField(help_text="The product's stock after the change.")
    kind = models.CharField(max_length=20, choices=MovementKind.choices)
    reason = models.TextField(blank=True)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        # PROTECT, as the order timeline: SET_NULL would be an UPDATE of the ledger (refused)
        # and would erase who moved the stock. Deactivate staff instead of deleting them.
        on_delete=models.PROTECT,
        null=True,
        blank=True,
        related_name="+",
    )
    order_number = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("adjust_stock", "Can adjust product stock")]
        constraints = [
            models.CheckConstraint(condition=~Q(delta=0), name="stock_movement_delta_non_zero"),
            models.CheckConstraint(
                condition=Q(stock_after__gte=0), name="stock_movement_stock_after_non_negative"
            ),
            models.CheckConstraint(
                condition=Q(kind__in=MovementKind.values), name="stock_movement_kind_valid"
            ),
        ]
        indexes = [
            models.Index(fields=["product", "created_at"], name="stock_movement_product_time"),
        ]

    def __str__(self) -> str:
        return f"{self.delta:+d} x product {self.product_id} ({self.kind})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise StockMovementAppendOnly("Stock movements are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise StockMovementAppendOnly("Stock movements are append-only.")
