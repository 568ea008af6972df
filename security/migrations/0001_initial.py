"""AuditEvent moves here from observability, its table and rows unchanged.

State only: the table ``observability_auditevent`` (created by observability's first
migration, on a new database as on an old one) becomes this app's model under the same name.
Observability's 0002 then drops the model from its own state and relabels the content type.
"""

import django.db.models.deletion
import django.utils.timezone
from django.conf import settings
from django.db import migrations, models

class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("observability", "0001_initial"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[
                migrations.CreateModel(
                    name="AuditEvent",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        ("action", models.CharField(max_length=50)),
                        ("object_type", models.CharField(max_length=100)),
                        ("object_id", models.CharField(max_length=64)),
                        ("path", models.CharField(max_length=300)),
                        ("ip", models.GenericIPAddressField(blank=True, null=True)),
                        (
                            "at",
                            models.DateTimeField(
                                default=django.utils.timezone.now, editable=False
                            ),
                        ),
                        (
                            "actor",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.PROTECT,
                                related_name="+",
                                to=settings.AUTH_USER_MODEL,
                            ),
                        ),
                    ],
                    options={
                        "db_table": "observability_auditevent",
                        "ordering": ["-at", "-id"],
                        "indexes": [
                            models.Index(
                                fields=["object_type", "object_id", "at"],
                                name="audit_object_time",
                            ),
                            models.Index(fields=["actor", "at"], name="audit_actor_time"),
                        ],
                    },
                ),
            ],
            database_operations=[],
        ),
    ]
