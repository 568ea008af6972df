"""ops.replica without a replica configured, and the settings that configure one."""

import json
import subprocess
import sys

import pytest
from django.conf import settings
from django.db import connections
from django.test.utils import CaptureQueriesContext

from ops.replica import REPLICA_ALIAS, replica_reads
from orders.models import Order
from tests.factories import OrderFactory
from tests.servers import PROJECT_DIR, app_environment


@pytest.mark.django_db
def test_without_a_replica_reports_read_the_primary():
    assert REPLICA_ALIAS not in settings.DATABASES
    OrderFactory(state="paid", payment_status="paid")

    with CaptureQueriesContext(connections["default"]) as on_primary, replica_reads():
        assert Order.objects.count() == 1

    assert len(on_primary.captured_queries) == 1


def test_database_replica_url_configures_the_alias_and_the_router():
    env = app_environment(
        DATABASE_URL="postgres://shop@primary.example:5432/shop",
        DATABASE_REPLICA_URL="postgres://shop_ro@replica.example:5432/shop",
        DB_PREPARED_STATEMENTS="0",
    )
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "r = settings.DATABASES['replica']; "
        "print(json.dumps([r['HOST'], r['USER'], r['TEST'], settings.DATABASE_ROUTERS]))"
    )
    result = subprocess.run(  # noqa: S603 - this interpreter, our own settings
        [sys.executable, "-c", code],
        cwd=PROJECT_DIR, env=env, capture_output=True, text=True, timeout=60, check=True,
    )  # fmt: skip

    host, user, test, routers = json.loads(result.stdout)
    assert (host, user) == ("replica.example", "shop_ro")
    assert test["MIRROR"] == "default"  # the test runner uses the primary's test database
    assert routers == ["ops.replica.ReplicaRouter"]
