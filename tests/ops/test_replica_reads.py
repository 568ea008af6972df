"""Read-only staff reports (the dashboard, shop_report) read from the replica when one is set.

The replica here is a second connection (its own alias, its own session) to the test database,
opened read-only as a hot standby is: a report that wrote anything would fail on it. Queries
are captured on both connections, so the test sees which one served each.
"""

import copy
import io
import json
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import InternalError, connections
from django.test.utils import CaptureQueriesContext

from core.db.replica import REPLICA_ALIAS, replica_reads
from orders.models import Order
from tests.factories import OrderFactory, StaffFactory

REPORT_TABLES = ("orders_order", "payments_payment", "inventory_inventorylock")


@pytest.fixture(scope="module")
def replica_alias(django_db_setup):
    """A ``replica`` alias: the test database through read-only sessions of its own. Added
    for the module, before each test's database access is set up (which must know it)."""
    replica_settings = copy.deepcopy(connections["default"].settings_dict)
    replica_settings.setdefault("OPTIONS", {})["options"] = "-c default_transaction_read_only=on"
    replica_settings["TEST"] = {**replica_settings.get("TEST", {}), "MIRROR": "default"}
    databases: dict[str, Any] = settings.DATABASES  # connections.settings is this same dict
    databases[REPLICA_ALIAS] = replica_settings
    yield
    connections[REPLICA_ALIAS].close()
    del connections[REPLICA_ALIAS]
    del settings.DATABASES[REPLICA_ALIAS]


with_replica = [
    pytest.mark.usefixtures("replica_alias"),
    # the replica sees only committed rows; it is a mirror, so it is never flushed
    pytest.mark.django_db(transaction=True, databases=["default", REPLICA_ALIAS]),
]


@pytest.fixture
def replica(replica_alias):
    return connections[REPLICA_ALIAS]


def report_queries(captured: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"] for q in captured.captured_queries if any(t in q["sql"] for t in REPORT_TABLES)
    ]


@with_replica[0]
@with_replica[1]
def test_the_replica_connection_is_separate_and_read_only(replica):
    OrderFactory(state="paid", payment_status="paid")

    assert Order.objects.using(REPLICA_ALIAS).count() == 1  # the primary's committed row
    with pytest.raises(InternalError, match="read-only transaction"):
        Order.objects.using(REPLICA_ALIAS).update(note="written through the replica")


@with_replica[0]
@with_replica[1]
def test_the_dashboard_reads_its_figures_from_the_replica(client, replica):
    OrderFactory(state="paid", payment_status="paid")
    client.force_login(StaffFactory())

    with (
        CaptureQueriesContext(connections["default"]) as on_primary,
        CaptureQueriesContext(replica) as on_replica,
    ):
        response = client.get("/admin/dashboard/")

    assert response.status_code == 200
    assert len(report_queries(on_replica)) >= 5  # each figure is its own query
    assert report_queries(on_primary) == []  # the session and the user still come from it


@with_replica[0]
@with_replica[1]
def test_shop_report_reads_from_the_replica(replica):
    OrderFactory(state="pending_payment", payment_status="pending")
    out = io.StringIO()

    with (
        CaptureQueriesContext(connections["default"]) as on_primary,
        CaptureQueriesContext(replica) as on_replica,
    ):
        call_command("shop_report", "--json", stdout=out)

    assert json.loads(out.getvalue())["orders_pending_payment_last_hour"] == 1
    assert report_queries(on_replica)
    assert on_primary.captured_queries == []


@with_replica[0]
@with_replica[1]
def test_writes_inside_replica_reads_still_go_to_the_primary(replica):
    order = OrderFactory.create(state="paid", payment_status="paid")

    with replica_reads():
        Order.objects.filter(pk=order.pk).update(note="staff note")

    assert Order.objects.get(pk=order.pk).note == "staff note"
