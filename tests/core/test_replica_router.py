"""core.db.replica without a replica configured: reports read the primary."""

import pytest
from django.conf import settings
from django.db import connections
from django.test.utils import CaptureQueriesContext

from core.db.replica import REPLICA_ALIAS, replica_reads
from orders.models import Order
from tests.factories import OrderFactory


@pytest.mark.django_db
def test_without_a_replica_reports_read_the_primary():
    assert REPLICA_ALIAS not in settings.DATABASES
    OrderFactory(state="paid", payment_status="paid")

    with CaptureQueriesContext(connections["default"]) as on_primary, replica_reads():
        assert Order.objects.count() == 1

    assert len(on_primary.captured_queries) == 1
