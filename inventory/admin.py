from django.contrib import admin

from config.admin_lists import RefuseNulInFiltersMixin
from inventory.models import InventoryLock


@admin.register(InventoryLock)
class InventoryLockAdmin(RefuseNulInFiltersMixin, admin.ModelAdmin):
    list_display = ("id", "product", "owner", "quantity", "expires_at", "created_at")
    list_select_related = ("product",)
    search_fields = ("owner", "product__sku")
    list_filter = ("expires_at",)

    def has_add_permission(self, request, obj=None) -> bool:
        return False  # locks are written by checkout only

    def has_change_permission(self, request, obj=None) -> bool:
        return False
