from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "inventory"
    verbose_name = "Inventory"

    def ready(self) -> None:
        from inventory.gauges import inventory_lock_figures
        from inventory.selectors import available_units
        from observability.metrics import register_gauge_source
        from shop.stock import provide_available_units

        register_gauge_source(inventory_lock_figures, name="inventory")
        provide_available_units(available_units)
