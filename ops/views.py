"""The cron URL: cleanup for hosts that have no Celery beat (e.g. a platform scheduler)."""

import hmac

from django.conf import settings
from django.http import HttpRequest, JsonResponse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from core.api import error_body
from ops.cleanup import run_cleanup

_BEARER = "bearer "


def _refusal(status: int, code: str, message: str) -> JsonResponse:
    response = JsonResponse(error_body(code, message), status=status)
    if status == 401:
        response["WWW-Authenticate"] = 'Bearer realm="cron"'
    return response


@never_cache
@require_GET
def cron_cleanup(request: HttpRequest) -> JsonResponse:
    """``Authorization: Bearer $CRON_SECRET`` → run the cleanup and answer its counts.

    Closed unless CRON_SECRET is set (503). The token is compared in constant time.
    """
    secret = settings.CRON_SECRET
    if not secret:
        return _refusal(
            503, "cron_not_configured", "The cron endpoint is disabled: CRON_SECRET is not set."
        )
    header = request.headers.get("Authorization", "")
    if not header.lower().startswith(_BEARER):
        return _refusal(401, "not_authenticated", "Send Authorization: Bearer <CRON_SECRET>.")
    token = header[len(_BEARER) :].strip()
    if not hmac.compare_digest(token.encode(), secret.encode()):
        return _refusal(401, "invalid_token", "The cron token is not valid.")
    return JsonResponse({"cleanup": run_cleanup().as_dict()})
