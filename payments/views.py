"""Browser pages: where gateways send the customer back, and the dev-only dummy gateway."""

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from payments.gateways import get_provider
from payments.models import Payment
from payments.services import receive_webhook
from payments.storable import is_storable


def payment_return(request: HttpRequest) -> HttpResponse:
    """The gateways' callback: says nothing about the order (the app asks verify for that)."""
    reference = request.GET.get("reference") or request.GET.get("tx_ref") or ""
    return render(request, "payments/return.html", {"reference": reference[:64]})


@csrf_exempt  # a dev-only stand-in for a third-party page, which has no CSRF token of ours
@require_http_methods(["GET", "POST"])
def dummy_hosted_page(request: HttpRequest, reference: str) -> HttpResponse:
    if not settings.DEBUG or not is_storable(reference):  # a NUL byte names no payment
        raise Http404
    payment = (
        Payment.objects.select_related("order").filter(reference=reference, gateway="dummy").first()
    )
    if payment is None:
        raise Http404
    provider = get_provider("dummy")
    if request.method == "POST":
        outcome = "succeeded" if request.POST.get("outcome") == "pay" else "failed"
        webhook = provider.complete(reference, outcome)  # type: ignore[attr-defined]
        # The same signed path a real gateway takes, called in-process.
        receive_webhook(
            gateway="dummy", headers=webhook.headers, body=webhook.body, remote_addr="127.0.0.1"
        )
        return redirect(f"/payments/return/?reference={reference}")
    return render(request, "payments/dummy_page.html", {"payment": payment})
