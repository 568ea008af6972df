"""JSON versions of Django's error pages: an API client gets the error body it parses
everywhere else (``core.api.error_body``), never an HTML page."""

from django.http import HttpRequest, HttpResponse, JsonResponse

from core.api import error_body


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return JsonResponse(error_body("not_found", "Not found."), status=404)


def json_server_error(request: HttpRequest) -> HttpResponse:
    return JsonResponse(
        error_body("internal_error", "An unexpected error occurred; it has been logged."),
        status=500,
    )


def json_bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return JsonResponse(error_body("bad_request", "Bad request."), status=400)


def json_permission_denied(
    request: HttpRequest, exception: Exception | None = None
) -> HttpResponse:
    return JsonResponse(error_body("permission_denied", "Permission denied."), status=403)
