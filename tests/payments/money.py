"""Helpers of the money-safety tests: gateway-paid orders, staff refunds over HTTP, webhooks
delivered to the app as the gateway sends them."""

from __future__ import annotations

from typing import Any

from rest_framework.test import APIClient

from orders.models import Order
from payments.gateways import get_provider
from payments.models import Payment
from payments.services import apply_gateway_event, event_from_verify
from tests.conftest import client_for
from tests.payments.helpers import place_order


def paid_order(fake, client, customer, *, gateway: str = "paystack", quantity: int = 2):
    """An order placed through checkout and paid at the fake ``gateway`` (5000.00 NGN for two
    units); returns (order, payment, product)."""
    response, product = place_order(client, customer, method=gateway, quantity=quantity)
    assert response.status_code == 201, response.content
    payment = Payment.objects.get(order_id=response.json()["id"])
    fake.webhook_target = None
    fake.pay(payment.reference)
    payment.refresh_from_db()
    result = get_provider(gateway).verify(payment.reference, gateway_ids=payment.gateway_ids)
    event = event_from_verify(gateway, result)
    assert event is not None
    apply_gateway_event(event=event, payment=payment)
    payment.refresh_from_db()
    return Order.objects.get(pk=payment.order_id), payment, product


def deliver(webhook, gateway: str, capture) -> Any:
    """POST a signed webhook to the app as the gateway does, processing it after commit."""
    meta = {
        f"HTTP_{name.upper().replace('-', '_')}": value
        for name, value in webhook.headers.items()
        if name.lower() != "content-type"
    }
    with capture(execute=True):
        response = APIClient().post(
            f"/api/webhooks/{gateway}/", data=webhook.body, content_type="application/json", **meta
        )
    assert response.status_code == 200, response.content
    return response


def staff_refund(user, order: Order, body: dict[str, Any], *, key: str):
    return client_for(user).post(
        f"/api/staff/orders/{order.pk}/refund/", body, format="json", HTTP_IDEMPOTENCY_KEY=key
    )
