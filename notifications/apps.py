from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "notifications"
    verbose_name = "Notifications"

    def ready(self) -> None:
        from notifications import checks  # noqa: F401  (registers the system checks)
        from notifications.gauges import notification_queue_depth
        from observability.metrics import register_gauge_source

        register_gauge_source(notification_queue_depth, name="notifications")
