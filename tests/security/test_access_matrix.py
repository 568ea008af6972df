"""Every operation of the OpenAPI schema, tried as each kind of caller.

Callers: anonymous; customer A using customer B's object ids; Support staff; Finance staff.
Requests carry an empty JSON body: the point is who gets past authentication, permission and
object scoping, not what a valid request does. A 400 (validation) therefore means "let in".
``EXPECTED`` is explicit per operation: a new endpoint without a row fails
``test_every_schema_operation_has_an_expectation``.
"""

import json
from decimal import Decimal

import pytest
from django.apps import apps
from django.contrib.auth.models import Group
from drf_spectacular.generators import SchemaGenerator
from rest_framework.test import APIClient

from orders.services import mark_paid
from payments.models import Payment
from shop.models import CartItem
from tests.conftest import client_for
from tests.factories import AddressFactory, ProductFactory, StaffFactory, UserFactory
from tests.orders.helpers import fill_cart, place
from tests.staff.conftest import staff_groups_migration

pytestmark = pytest.mark.django_db

ROLES = ("anonymous", "customer_a", "support", "finance")

# (method, schema path) -> expected status for (anonymous, customer A on B's ids, Support,
# Finance). Customer endpoints are scoped to the caller, staff included: someone else's id is
# 404 (never 403, which would confirm the id exists).
OWN = (401, 404, 404, 404)  # a customer's own object, by id
OWN_LIST = (401, 200, 200, 200)  # the caller's own collection (B's rows absent: checked below)
OWN_CREATE = (401, 400, 400, 400)  # authenticated callers reach validation
PUBLIC_READ = (200, 200, 200, 200)
PUBLIC_FORM = (400, 400, 400, 400)  # public POST: validation for everyone
SIGNED_IN_ACTION = (401, 204, 204, 204)  # acts on the caller's own sign-ins
STAFF_READ = (401, 403, 200, 200)
# Staff actions on B's paid bank-transfer order. Support fulfils; Finance refunds (and so
# cancels a paid order), confirms transfers and records cash. "Let in" shows as 400 (the empty
# body fails validation) or 409 (the action does not apply to this order).
FULFILMENT = (401, 403, 400, 403)
FINANCE_ONLY = (401, 403, 403, 400)

EXPECTED: dict[tuple[str, str], tuple[int, int, int, int]] = {
    ("GET", "/api/addresses/"): OWN_LIST,
    ("POST", "/api/addresses/"): OWN_CREATE,
    ("GET", "/api/addresses/{address_id}/"): OWN,
    ("PATCH", "/api/addresses/{address_id}/"): OWN,
    ("DELETE", "/api/addresses/{address_id}/"): OWN,
    ("GET", "/api/auth/me/"): OWN_LIST,
    ("PATCH", "/api/auth/me/"): (401, 200, 200, 200),  # empty patch: nothing changes
    ("DELETE", "/api/auth/me/"): OWN_CREATE,  # erasure needs the password
    ("GET", "/api/auth/me/export/"): OWN_LIST,
    ("POST", "/api/auth/register/"): PUBLIC_FORM,
    ("POST", "/api/auth/token/"): PUBLIC_FORM,
    ("POST", "/api/auth/logout/"): SIGNED_IN_ACTION,
    ("POST", "/api/auth/logout-all/"): SIGNED_IN_ACTION,
    ("POST", "/api/auth/password/change/"): OWN_CREATE,
    ("POST", "/api/auth/password/reset/"): PUBLIC_FORM,
    ("POST", "/api/auth/password/reset/confirm/"): PUBLIC_FORM,
    ("POST", "/api/auth/email/verify/"): PUBLIC_FORM,
    ("POST", "/api/auth/email/verify/resend/"): (401, 202, 202, 202),  # none is verified yet
    ("GET", "/api/cart/"): OWN_LIST,
    ("POST", "/api/cart/items/"): OWN_CREATE,
    ("PATCH", "/api/cart/items/{item_id}/"): OWN,
    ("DELETE", "/api/cart/items/{item_id}/"): OWN,
    ("POST", "/api/checkout/"): OWN_CREATE,
    ("GET", "/api/orders/"): OWN_LIST,
    ("GET", "/api/orders/{order_id}/"): OWN,
    ("POST", "/api/orders/{order_id}/cancel/"): OWN,
    ("POST", "/api/orders/{order_id}/pay/"): OWN,
    ("GET", "/api/payments/verify/{reference}/"): OWN,
    ("GET", "/api/products/"): PUBLIC_READ,
    ("GET", "/api/products/{id}/"): PUBLIC_READ,
    ("GET", "/api/staff/orders/"): STAFF_READ,
    ("GET", "/api/staff/orders/{order_id}/"): STAFF_READ,
    ("POST", "/api/staff/orders/{order_id}/accept-cod/"): (401, 403, 409, 403),
    ("POST", "/api/staff/orders/{order_id}/cancel/"): FINANCE_ONLY,  # paid: needs a refund
    ("POST", "/api/staff/orders/{order_id}/cash-collected/"): FINANCE_ONLY,
    ("POST", "/api/staff/orders/{order_id}/confirm-bank-transfer/"): FINANCE_ONLY,
    ("POST", "/api/staff/orders/{order_id}/delivery-refused/"): FULFILMENT,
    ("POST", "/api/staff/orders/{order_id}/refund/"): FINANCE_ONLY,
    ("POST", "/api/staff/orders/{order_id}/status/"): FULFILMENT,
    ("POST", "/api/webhooks/{gateway}/"): (401, 401, 401, 401),  # unsigned: invalid_signature
}


# Bodies valid in shape, so that a refusal comes from scoping, not from validation.
BODIES = {
    ("PATCH", "/api/cart/items/{item_id}/"): {"quantity": 1},
    ("PATCH", "/api/addresses/{address_id}/"): {"city": "Abuja"},
}


def schema_operations() -> set[tuple[str, str]]:
    schema = SchemaGenerator().get_schema(request=None, public=True)
    return {(method.upper(), path) for path, ops in schema["paths"].items() for method in ops}


def test_every_schema_operation_has_an_expectation():
    assert schema_operations() == set(EXPECTED)


@pytest.fixture
def world(db, settings):
    """Customer B's objects, the callers, and the ids to put in each path."""
    settings.PAYSTACK_SECRET_KEY = "sk_test_access_matrix"  # configured, so webhooks verify
    staff_groups_migration.create_groups(apps)
    customer_b = UserFactory(email="customer.b@example.com")
    product = ProductFactory(stock=20, price=Decimal("2500.00"))
    address = AddressFactory(customer=customer_b, line1="B's own street")
    order = place(customer_b, [(product, 1)]).order
    mark_paid(order_id=order.pk, amount=order.total, currency=order.currency)
    payment = Payment.objects.create(
        order=order, gateway="paystack", reference=f"{order.number}-B", attempt=1,
        amount=order.total, currency=order.currency, status="pending",
    )  # fmt: skip
    fill_cart(customer_b, [(product, 2)])
    item = CartItem.objects.get(cart__customer=customer_b)

    def staff(group: str):
        user = StaffFactory()
        user.groups.add(Group.objects.get(name=group))
        return user

    callers = {
        "anonymous": None,
        "customer_a": UserFactory(email="customer.a@example.com"),
        "support": staff("Support"),
        "finance": staff("Finance"),
    }
    ids = {
        "address_id": address.pk,
        "item_id": item.pk,
        "order_id": order.pk,
        "reference": payment.reference,
        "id": product.pk,
        "gateway": "paystack",
    }
    markers = [order.number, "B's own street", payment.reference]
    return callers, ids, markers


def _call(caller, method: str, path: str, ids: dict):
    client = client_for(caller) if caller is not None else APIClient()
    url = path.format(**{k: v for k, v in ids.items() if "{" + k + "}" in path})
    body = json.dumps(BODIES.get((method, path), {}))
    return client.generic(method, url, data=body, content_type="application/json")


@pytest.mark.parametrize(("method", "path"), sorted(EXPECTED))
@pytest.mark.parametrize("role", ROLES)
def test_access(world, role, method, path):
    callers, ids, markers = world
    expected = EXPECTED[(method, path)][ROLES.index(role)]

    response = _call(callers[role], method, path, ids)

    assert response.status_code == expected, response.content[:300]
    if expected == 200 and not path.startswith("/api/staff/"):
        body = response.content.decode()
        assert not [m for m in markers if m in body], "customer B's data leaked"
