from django.apps import AppConfig


class OpsConfig(AppConfig):
    name = "ops"
    verbose_name = "Operations"

    def ready(self) -> None:
        from observability.metrics import register_gauge_source
        from ops.gauges import health_figures

        register_gauge_source(health_figures, name="health")
