"""AuditEvent now belongs to the security app (its 0001): dropped from this app's state only;
the table stays where it is, under its name, with its rows.

The model's content type is relabelled rather than recreated, so its permissions keep their ids
and every group or user that holds one keeps it. It runs after the state change, so a content
type an earlier migration created for either label mid-upgrade is folded in too.
"""

from django.conf import settings
from django.db import migrations

MODEL = "auditevent"


def relabel(apps, from_label: str, to_label: str) -> None:
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    old = ContentType.objects.filter(app_label=from_label, model=MODEL).first()
    if old is None:
        return
    new = ContentType.objects.filter(app_label=to_label, model=MODEL).first()
    if new is None:
        old.app_label = to_label
        old.save(update_fields=["app_label"])
        return
    # Both exist (a migration or a run of the newer code created the new label): whoever held
    # an old permission gets the new one of the same codename, then the old label goes.
    for old_permission in Permission.objects.filter(content_type=old):
        new_permission = Permission.objects.filter(
            content_type=new, codename=old_permission.codename
        ).first()
        if new_permission is None:
            old_permission.content_type = new
            old_permission.save(update_fields=["content_type"])
            continue
        for group in old_permission.group_set.all():
            group.permissions.add(new_permission)
        for user in old_permission.user_set.all():
            user.user_permissions.add(new_permission)
    old.delete()


def relabel_to_security(apps, schema_editor) -> None:
    relabel(apps, "observability", "security")


def relabel_to_observability(apps, schema_editor) -> None:
    relabel(apps, "security", "observability")


class Migration(migrations.Migration):
    dependencies = [
        ("observability", "0001_initial"),
        ("security", "0001_initial"),
        ("contenttypes", "0002_remove_content_type_name"),
        ("auth", "0012_alter_user_first_name_max_length"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            state_operations=[migrations.DeleteModel(name="AuditEvent")],
            database_operations=[],
        ),
        migrations.RunPython(relabel_to_security, relabel_to_observability),
    ]
