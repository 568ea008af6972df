from django.apps import AppConfig


class BackofficeConfig(AppConfig):
    """Staff tooling over orders and payments: the staff API, the order admin and its
    actions, staff permissions and the back-office services. It owns no models: the admin it
    registers keeps the models' own URLs (/admin/orders/order/…)."""

    name = "backoffice"
    label = "backoffice"
    verbose_name = "Back office"
