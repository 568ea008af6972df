"""Sensitive reads are recorded: staff opening an order in the admin or the staff API."""

import pytest

from security.models import AuditEvent, AuditEventAppendOnly
from tests.conftest import admin_login, client_for
from tests.factories import ProductFactory, StaffFactory, UserFactory
from tests.orders.helpers import place
from tests.staff.conftest import staff_groups, staff_in  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db


@pytest.fixture
def order():
    return place(UserFactory(), [(ProductFactory(stock=5), 1)]).order


def audit_rows():
    """The recorded reads (sign-ins, recorded too, are tested in tests/accounts)."""
    return list(
        AuditEvent.objects.filter(action="view").values_list(
            "actor_id", "action", "object_type", "object_id", "path", "ip"
        )
    )


def test_opening_an_order_in_the_admin_is_recorded(client, order):
    staff = StaffFactory(is_superuser=True)
    admin_login(client, staff)

    response = client.get(f"/admin/orders/order/{order.pk}/change/", REMOTE_ADDR="203.0.113.9")

    assert response.status_code == 200
    assert audit_rows() == [
        (staff.pk, "view", "orders.order", str(order.pk),
         f"/admin/orders/order/{order.pk}/change/", "203.0.113.9"),
    ]  # fmt: skip


@pytest.mark.usefixtures("staff_groups")
def test_the_staff_api_order_detail_is_recorded(order):
    support = staff_in("Support")

    response = client_for(support).get(f"/api/staff/orders/{order.pk}/", REMOTE_ADDR="198.51.100.7")

    assert response.status_code == 200
    assert audit_rows() == [
        (support.pk, "view", "orders.order", str(order.pk),
         f"/api/staff/orders/{order.pk}/", "198.51.100.7"),
    ]  # fmt: skip


@pytest.mark.usefixtures("staff_groups")
def test_refused_and_other_reads_are_not_recorded(client, order):
    client_for(UserFactory()).get(f"/api/staff/orders/{order.pk}/")  # 403
    client_for(staff_in("Support")).get("/api/staff/orders/")  # a list, not an order
    client_for(staff_in("Support")).get("/api/staff/orders/999999/")  # 404
    admin_login(client, StaffFactory(is_superuser=True))
    client.get("/admin/orders/order/")

    assert audit_rows() == []


def test_audit_events_are_append_only(client, order):
    admin_login(client, StaffFactory(is_superuser=True))
    client.get(f"/admin/orders/order/{order.pk}/change/")
    event = AuditEvent.objects.get(action="view")

    event.action = "nothing"
    with pytest.raises(AuditEventAppendOnly):
        event.save()
    with pytest.raises(AuditEventAppendOnly):
        event.delete()
    assert AuditEvent.objects.get(pk=event.pk).action == "view"
