from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = "Inventory"

    def ready(self) -> None:
        from inventory.gauges import inventory_lock_figures
        from observability.metrics import register_gauge_source

        register_gauge_source(inventory_lock_figures, name="inventory")
