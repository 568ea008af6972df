"""Payment endpoints: pay (new attempt), verify (heal a missed webhook), gateway webhooks."""

from typing import Any

from django.conf import settings
from drf_spectacular.utils import extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from core.api import COMMON_ERRORS, error_response
from observability.metrics import WEBHOOK_EVENTS
from orders.selectors import order_get_for_customer
from orders.services import retry_payment
from orders.states import ActorType, OrderState
from payments import services
from payments.errors import OrderNotPayable, WebhookPayloadTooLarge
from payments.gateways import provider_available
from payments.models import Payment
from payments.providers.errors import InvalidSignature
from security.throttles import PaymentStartThrottle, PaymentVerifyThrottle, WebhookThrottle
from security.webhook_ips import WebhookSourceAllowed

PAYMENT_OBJECT = inline_serializer(
    name="PaymentStarted",
    fields={
        "order_id": serializers.IntegerField(),
        "payment": serializers.DictField(),
    },
)


class OrderPayApi(APIView):
    # Every call opens a gateway session: THROTTLE_PAYMENT_RATE per customer, failing open.
    throttle_classes = [PaymentStartThrottle]

    @extend_schema(
        operation_id="orders_pay",
        request=None,
        responses={
            201: PAYMENT_OBJECT,
            **COMMON_ERRORS,
            404: error_response("not_found"),
            409: error_response("order_not_payable, insufficient_stock"),
            429: error_response("throttled (THROTTLE_PAYMENT_RATE per customer)"),
            502: error_response("payment_gateway_unavailable (details.order_id)"),
        },
        description=(
            "Start a new payment attempt for an unpaid order (also after payment_failed, which "
            "reserves the stock again). Answers the hosted payment page to open."
        ),
    )
    def post(self, request: Request, order_id: int) -> Response:
        order = order_get_for_customer(customer=request.user, order_id=order_id)
        if order.state in (OrderState.PAYMENT_FAILED, OrderState.PENDING_PAYMENT):
            # Before retry_payment takes the stock again for a payment that cannot start.
            services.require_online_payment_method(order)
        if order.state == OrderState.PAYMENT_FAILED:
            retry_payment(order_id=order.pk, actor_type=ActorType.CUSTOMER, actor=request.user)
        elif order.state != OrderState.PENDING_PAYMENT:
            raise OrderNotPayable(details={"order_id": order.pk, "state": order.state})
        payment = services.start_payment(order_id=order.pk)
        return Response({"order_id": order.pk, "payment": payment}, status=status.HTTP_201_CREATED)


def render_payment(payment: Payment) -> dict[str, Any]:
    return {
        "reference": payment.reference,
        "gateway": payment.gateway,
        "attempt": payment.attempt,
        "status": payment.status,
        "amount": str(payment.amount),
        "currency": payment.currency,
        "order_id": payment.order_id,
        "order_state": payment.order.state,
        "payment_status": payment.order.payment_status,
    }


class PaymentVerifyApi(APIView):
    # Every call asks the gateway: THROTTLE_PAYMENT_RATE per customer, counted apart from pay.
    throttle_classes = [PaymentVerifyThrottle]

    @extend_schema(
        operation_id="payments_verify",
        responses={
            200: inline_serializer(
                name="PaymentVerified",
                fields={
                    "reference": serializers.CharField(),
                    "gateway": serializers.CharField(),
                    "attempt": serializers.IntegerField(),
                    "status": serializers.CharField(),
                    "amount": serializers.CharField(),
                    "currency": serializers.CharField(),
                    "order_id": serializers.IntegerField(),
                    "order_state": serializers.CharField(),
                    "payment_status": serializers.CharField(),
                },
            ),
            **COMMON_ERRORS,
            404: error_response("payment_not_found, payment_not_found_at_gateway"),
            429: error_response("throttled (THROTTLE_PAYMENT_RATE per customer)"),
            502: error_response("payment_gateway_unavailable, payment_gateway_bad_response"),
        },
        description="Ask the gateway about one of your payments and apply its answer.",
    )
    def get(self, request: Request, reference: str) -> Response:
        payment = services.verify_payment(reference=reference, customer=request.user)
        payment.order.refresh_from_db()
        return Response(render_payment(payment))


class WebhookApi(APIView):
    """Gateways call this: no session, no CSRF, no token; only the signature authenticates."""

    authentication_classes: list = []
    # Off by default; WEBHOOK_IP_ALLOWLIST_ENABLED restricts callers to the gateway's addresses.
    permission_classes = [WebhookSourceAllowed]
    # Fails open when Redis is down: a payment notification is never dropped by the limiter.
    throttle_classes = [WebhookThrottle]

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        # Before anything reads the body: a declared length over the cap is refused unread.
        if _declared_length(request) > settings.WEBHOOK_MAX_BODY_BYTES:
            raise WebhookPayloadTooLarge(details={"max_bytes": settings.WEBHOOK_MAX_BODY_BYTES})
        super().initial(request, *args, **kwargs)

    @extend_schema(
        operation_id="payments_webhook",
        request=None,
        responses={
            200: inline_serializer(
                name="WebhookAck",
                fields={
                    "received": serializers.IntegerField(),
                    "duplicates": serializers.IntegerField(),
                },
            ),
            400: error_response("invalid_webhook_payload, unknown_payment_method"),
            401: error_response("invalid_signature"),
            403: error_response("webhook_source_not_allowed (WEBHOOK_IP_ALLOWLIST_ENABLED)"),
            404: error_response("not_found"),
            413: error_response("payload_too_large (WEBHOOK_MAX_BODY_BYTES, 256 KB)"),
            429: error_response("throttled (THROTTLE_WEBHOOK_RATE per client address)"),
        },
        description=(
            "Also accepted without the trailing slash (`/api/webhooks/{gateway}`): gateways do "
            "not follow redirects."
        ),
    )
    def post(self, request: Request, gateway: str) -> Response:
        if not provider_available(gateway):  # the dummy too, unless DEBUG is on
            return Response(
                {"error": {"code": "not_found", "message": "Unknown gateway.", "details": {}}},
                status=status.HTTP_404_NOT_FOUND,
            )
        body = request.body
        if len(body) > settings.WEBHOOK_MAX_BODY_BYTES:  # a body sent without a length
            raise WebhookPayloadTooLarge(details={"max_bytes": settings.WEBHOOK_MAX_BODY_BYTES})
        try:
            received = services.receive_webhook(
                gateway=gateway,
                headers=request.headers,
                body=body,
                remote_addr=request.META.get("REMOTE_ADDR"),
            )
        except InvalidSignature:
            WEBHOOK_EVENTS.labels(gateway, "unverified", "bad_signature").inc()
            raise
        for event_type in received.event_types:
            WEBHOOK_EVENTS.labels(gateway, event_type, "received").inc()
        if received.duplicates:
            WEBHOOK_EVENTS.labels(gateway, "duplicate", "duplicate").inc(received.duplicates)
        return Response({"received": len(received.stored), "duplicates": received.duplicates})


@extend_schema(exclude=True)  # documented once, under the path with the slash
class WebhookWithoutSlashApi(WebhookApi):
    """``/api/webhooks/<gateway>`` without the trailing slash: the same endpoint, no redirect."""


def _declared_length(request: Request) -> int:
    try:
        return int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:  # unreadable: Django reads no body then, and the read length decides
        return 0
