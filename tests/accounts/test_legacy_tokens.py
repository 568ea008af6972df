"""Upgrading: plain-text tokens of earlier versions become hashed, expiring knox tokens."""

from datetime import timedelta

import pytest
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone
from knox.models import AuthToken

from tests.accounts.helpers import ME, client_with
from tests.factories import StaffFactory, UserFactory
from tests.shop.helpers import assert_error

MIGRATION = ("accounts", "0001_hash_legacy_tokens")
KEYS = {
    "customer": "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c",
    "staff": "1f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c",
    "inactive": "2f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c",
}


@pytest.mark.django_db(transaction=True)
def test_customer_tokens_keep_working_hashed_and_the_plain_table_is_dropped():
    users = {
        "customer": UserFactory.create(),
        "staff": StaffFactory.create(),  # obtained without a second factor: not carried over
        "inactive": UserFactory.create(is_active=False),
    }
    MigrationExecutor(connection).migrate([("accounts", None)])
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TABLE authtoken_token (key varchar(40) PRIMARY KEY, "
            "created timestamp with time zone NOT NULL, "
            "user_id bigint NOT NULL UNIQUE REFERENCES shop_user (id))"
        )
        for role, key in KEYS.items():
            cursor.execute(
                "INSERT INTO authtoken_token VALUES (%s, now(), %s)", [key, users[role].pk]
            )
    MigrationRecorder(connection).record_applied("authtoken", "0004_alter_tokenproxy_options")

    MigrationExecutor(connection).migrate([MIGRATION])

    assert "authtoken_token" not in connection.introspection.table_names()
    assert not MigrationRecorder(connection).migration_qs.filter(app="authtoken").exists()
    assert client_with(KEYS["customer"]).get(ME).json()["email"] == users["customer"].email
    (carried,) = AuthToken.objects.all()
    assert carried.user == users["customer"]
    assert abs(carried.expiry - (timezone.now() + timedelta(days=30))) < timedelta(minutes=1)
    assert_error(client_with(KEYS["staff"]).get(ME), 401, "authentication_failed")
    assert_error(client_with(KEYS["inactive"]).get(ME), 401, "authentication_failed")
