from django.contrib import admin
from django.urls import include, path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from config import views
from observability import views as observability_views

urlpatterns = [
    path("healthz", views.healthz, name="healthz"),
    path("readyz", views.readyz, name="readyz"),
    path("metrics", observability_views.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    path("api/docs/", SpectacularSwaggerView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("shop.urls")),
    path("api/", include("orders.urls")),
    path("api/staff/", include("orders.staff_urls")),
]

handler400 = "config.views.json_bad_request"
handler403 = "config.views.json_permission_denied"
handler404 = "config.views.json_not_found"
handler500 = "config.views.json_server_error"

# Payments: pay/verify/webhooks under /api/, the gateways' return page, the dev-only dummy page.
from django.conf import settings as _settings  # noqa: E402

from payments import views as payment_views  # noqa: E402

urlpatterns += [
    path("api/", include("payments.urls")),
    path("payments/return/", payment_views.payment_return, name="payment-return"),
]
if _settings.DEBUG:
    urlpatterns += [
        path(
            "payments/dummy/<str:reference>/",
            payment_views.dummy_hosted_page,
            name="payment-dummy-page",
        )
    ]
