"""Settings read from the environment by a fresh process, as a deployment starts them."""

import json
import subprocess
import sys
from typing import Any

from tests.servers import PROJECT_DIR, app_environment

PRIMARY = "postgres://shop@primary.example:5432/shop"


def production_settings(**env: str) -> dict[str, Any]:
    """The Django settings a process started with ``env`` ends up with (JSON-able parts)."""
    code = (
        "import json, django; django.setup(); from django.conf import settings; "
        "d = settings.DATABASES; "
        "print(json.dumps({'databases': d, 'routers': settings.DATABASE_ROUTERS, "
        "'fallbacks': settings.SECRET_KEY_FALLBACKS, 'stripe': settings.STRIPE_API_VERSION, "
        "'queues': [q.name for q in settings.CELERY_TASK_QUEUES]}, default=str))"
    )
    result = subprocess.run(  # noqa: S603 - this interpreter, our own settings
        [sys.executable, "-c", code],
        cwd=PROJECT_DIR, env=app_environment(**env), capture_output=True, text=True,
        timeout=60, check=False,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    loaded: dict[str, Any] = json.loads(result.stdout)
    return loaded


def test_database_replica_url_adds_a_replica_alias_mirrored_in_tests():
    loaded = production_settings(
        DATABASE_URL=PRIMARY, DATABASE_REPLICA_URL="postgres://shop_ro@replica.example:5432/shop"
    )

    replica = loaded["databases"]["replica"]
    assert (replica["HOST"], replica["USER"]) == ("replica.example", "shop_ro")
    assert replica["TEST"]["MIRROR"] == "default"  # the test runner reuses the primary's
    assert replica["OPTIONS"] == loaded["databases"]["default"]["OPTIONS"]
    assert loaded["routers"] == ["core.db.replica.ReplicaRouter"]


def test_behind_a_transaction_pooler_prepared_statements_and_named_cursors_are_off():
    default = production_settings(
        DATABASE_URL=PRIMARY, DB_PREPARED_STATEMENTS="0", DB_SERVER_SIDE_CURSORS="0"
    )["databases"]["default"]
    assert "server_side_binding" not in default["OPTIONS"]
    assert default["DISABLE_SERVER_SIDE_CURSORS"] is True

    direct = production_settings(DATABASE_URL=PRIMARY)["databases"]["default"]
    assert direct["OPTIONS"]["server_side_binding"] is True
    assert direct["DISABLE_SERVER_SIDE_CURSORS"] is False


def test_rotation_and_pinning_settings_come_from_the_environment():
    loaded = production_settings(
        SECRET_KEY_FALLBACKS="old-key-one,old-key-two", STRIPE_API_VERSION="2025-01-27.acacia"
    )
    assert loaded["fallbacks"] == ["old-key-one", "old-key-two"]
    assert loaded["stripe"] == "2025-01-27.acacia"
    assert production_settings()["stripe"] == "2024-06-20"
    assert production_settings()["queues"] == ["celery", "money"]
