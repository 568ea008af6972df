"""JSON versions of Django's error pages: an API client gets the error body it parses
everywhere else (``core.api.error_body``), never an HTML page."""

import sys

from django.db import InterfaceError, OperationalError
from django.http import HttpRequest, HttpResponse, JsonResponse

from core.api import error_body


def json_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return JsonResponse(error_body("not_found", "Not found."), status=404)


# How long a client should wait before retrying while the database is unreachable.
DATABASE_RETRY_AFTER_SECONDS = 5


def database_unavailable(exc: BaseException | None) -> bool:
    """The database could not be reached or dropped the connection (restart, failover,
    a terminated backend), as opposed to a statement it refused: a connection error without
    an SQLSTATE, class 08 (connection exception) or 57P (shutdown, cannot connect now)."""
    if not isinstance(exc, OperationalError | InterfaceError):
        return False
    sqlstate = getattr(exc.__cause__, "sqlstate", None)
    return sqlstate is None or sqlstate.startswith(("08", "57P"))


def json_server_error(request: HttpRequest) -> HttpResponse:
    # Django calls handler500 while handling the exception: whatever raised it (a view, DRF,
    # a middleware reading the session or the user), a database that is away is a 503 the
    # client may retry, not a bug. A transaction cut off with its connection is rolled back.
    if database_unavailable(sys.exc_info()[1]):
        response = JsonResponse(
            error_body(
                "database_unavailable",
                "The database is unavailable. Retry shortly, with the same Idempotency-Key "
                "where the request takes one.",
                {"retry_after_seconds": DATABASE_RETRY_AFTER_SECONDS},
            ),
            status=503,
        )
        response["Retry-After"] = str(DATABASE_RETRY_AFTER_SECONDS)
        return response
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
