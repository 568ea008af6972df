from django.apps import AppConfig


class ObservabilityConfig(AppConfig):
    name = "observability"
    verbose_name = "Observability and security"

    def ready(self) -> None:
        from observability import auth_signals, checks, gauges  # noqa: F401 - registers them

        gauges.register_builtin_sources()
