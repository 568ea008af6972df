from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from observability.metrics import register_gauge_source
        from ops.gauges import health_figures

        register_gauge_source(health_figures, name="health")

        from django.contrib import admin

        # The admin index links to the staff dashboard (ops/dashboard.py).
        admin.site.index_template = "admin/ops/index.html"
