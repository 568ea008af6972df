"""``GET /metrics``: the Prometheus exposition.

Never served open: ``config.urls`` mounts it behind ``security.metrics_access`` (a bearer token
or an allowed address).
"""

from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_GET

from observability.metrics import render_metrics


@require_GET
def metrics_view(request: HttpRequest) -> HttpResponse:
    body, content_type = render_metrics(request.headers.get("Accept"))
    return HttpResponse(body, content_type=content_type)
