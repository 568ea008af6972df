from django.urls import path

from payments import api

urlpatterns = [
    path("orders/<int:order_id>/pay/", api.OrderPayApi.as_view(), name="order-pay"),
    path("payments/verify/<str:reference>/", api.PaymentVerifyApi.as_view(), name="payment-verify"),
    path("webhooks/<str:gateway>/", api.WebhookApi.as_view(), name="payment-webhook"),
    # The address many people paste into a gateway's dashboard; gateways follow no redirect.
    path(
        "webhooks/<str:gateway>",
        api.WebhookWithoutSlashApi.as_view(),
        name="payment-webhook-without-slash",
    ),
]
