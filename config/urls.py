from django.conf import settings
from django.contrib import admin
from django.urls import include, path, re_path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from observability import health
from observability import views as observability_views
from ops.dashboard import staff_dashboard
from payments import views as payment_views
from security.metrics_access import require_metrics_access

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.readyz, name="readyz"),
    path("metrics", require_metrics_access(observability_views.metrics_view), name="metrics"),
    path("admin/dashboard/", staff_dashboard, name="staff-dashboard"),
    path("admin/two-factor/", include("accounts.admin_urls")),
    # The audit trail's admin pages before it moved to the security app (issue 16).
    re_path(
        r"^admin/observability/auditevent/(?P<rest>.*)$",
        RedirectView.as_view(url="/admin/security/auditevent/%(rest)s", query_string=True),
    ),
    path("admin/", admin.site.urls),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # Swagger UI from our own static files, its start-up script a separate request: the
    # Content-Security-Policy allows no inline script.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    path("api/", include("accounts.urls")),
    path("api/", include("shop.urls")),
    path("api/", include("orders.urls")),
    path("api/", include("payments.urls")),
    path("api/", include("ops.urls")),
    path("api/staff/", include("backoffice.urls")),
    # Where the gateways send the customer back after paying.
    path("payments/return/", payment_views.payment_return, name="payment-return"),
]
if settings.DEBUG:
    # The dummy gateway's hosted page exists only in development (never with DEBUG off).
    urlpatterns += [
        path(
            "payments/dummy/<str:reference>/",
            payment_views.dummy_hosted_page,
            name="payment-dummy-page",
        )
    ]

handler400 = "core.error_pages.json_bad_request"
handler403 = "core.error_pages.json_permission_denied"
handler404 = "core.error_pages.json_not_found"
handler500 = "core.error_pages.json_server_error"
