"""The payment records are visible to staff in the admin and cannot be edited there."""

from decimal import Decimal

import pytest
from django.test import Client

from payments.models import Dispute, Payment, Refund, WebhookEvent
from tests.conftest import admin_login
from tests.factories import OrderFactory, StaffFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client():
    staff = StaffFactory(is_superuser=True)
    client = Client()
    admin_login(client, staff)
    return client


def test_payment_records_are_listed_read_only(admin_client):
    order = OrderFactory(state="paid", payment_status="paid", payment_method="paystack")
    payment = Payment.objects.create(
        order=order,
        gateway="paystack",
        reference="ORD-A-1-abc",
        attempt=1,
        amount=Decimal("5000.00"),
        currency="NGN",
        status="succeeded",
    )
    refund = Refund.objects.create(
        payment=payment, amount=Decimal("10.00"), currency="NGN", idempotency_key="k"
    )
    dispute = Dispute.objects.create(
        payment=payment, order=order, gateway="paystack", gateway_dispute_id="1"
    )
    event = WebhookEvent.objects.create(
        gateway="paystack", event_key="e1", raw_body="{}", signature_valid=True
    )

    for name, obj in (
        ("payment", payment),
        ("refund", refund),
        ("dispute", dispute),
        ("webhookevent", event),
    ):
        listing = admin_client.get(f"/admin/payments/{name}/")
        assert listing.status_code == 200, name
        detail = admin_client.get(f"/admin/payments/{name}/{obj.pk}/change/")
        assert detail.status_code == 200, name
        assert b'type="submit" value="Save"' not in detail.content
        assert admin_client.get(f"/admin/payments/{name}/add/").status_code == 403
