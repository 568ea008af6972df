"""Move the plain-text DRF tokens of earlier versions (rest_framework.authtoken) into knox.

Only the SHA-512 digest is kept, as knox stores its own, so a customer app keeps its token and
signs in again when it expires (AUTH_TOKEN_TTL from now). Staff tokens are not carried over:
they were obtained without a second factor. The old table is dropped, with the plain keys.
"""

import hashlib

from django.conf import settings
from django.db import migrations
from django.db.migrations.recorder import MigrationRecorder
from django.utils import timezone

LEGACY_TABLE = "authtoken_token"
KNOX_TOKEN_KEY_LENGTH = 15


def hash_legacy_tokens(apps, schema_editor):
    connection = schema_editor.connection
    if LEGACY_TABLE not in connection.introspection.table_names():
        return  # a database created after the switch
    AuthToken = apps.get_model("knox", "AuthToken")
    User = apps.get_model("shop", "User")
    quoted = connection.ops.quote_name
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {quoted('key')}, {quoted('user_id')} FROM {quoted(LEGACY_TABLE)}")
        legacy = cursor.fetchall()
    customers = set(
        User.objects.filter(is_active=True, is_staff=False, is_superuser=False).values_list(
            "pk", flat=True
        )
    )
    expiry = timezone.now() + settings.AUTH_TOKEN_TTL
    AuthToken.objects.bulk_create(
        [
            AuthToken(
                digest=hashlib.sha512(key.encode()).hexdigest(),
                token_key=key[:KNOX_TOKEN_KEY_LENGTH],
                user_id=user_id,
                expiry=expiry,
            )
            for key, user_id in legacy
            if user_id in customers
        ]
    )
    schema_editor.execute(f"DROP TABLE {quoted(LEGACY_TABLE)}")
    MigrationRecorder(connection).migration_qs.filter(app="authtoken").delete()


class Migration(migrations.Migration):
    dependencies = [
        ("knox", "0009_extend_authtoken_field"),
        ("shop", "0003_user_email_verified_and_erased"),
    ]

    operations = [migrations.RunPython(hash_legacy_tokens, migrations.RunPython.noop)]
