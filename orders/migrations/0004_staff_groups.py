"""The staff groups "Support" and "Finance" with their order permissions (backoffice.permissions)."""

from django.contrib.auth.management import create_permissions
from django.db import migrations

VIEW = [
    ("orders", "view_order"),
    ("orders", "view_orderitem"),
    ("orders", "view_orderevent"),
    ("payments", "view_payment"),
    ("payments", "view_refund"),
    ("payments", "view_dispute"),
]
GROUPS = {
    "Support": [*VIEW, ("orders", "fulfil_order"), ("orders", "cancel_unpaid_order")],
    "Finance": [
        *VIEW,
        ("orders", "refund_order"),
        ("orders", "confirm_bank_transfer"),
        ("orders", "record_cash_collected"),
        ("orders", "cancel_unpaid_order"),
    ],
}


def create_groups(apps, schema_editor=None):
    # Permissions are normally created after all migrations; this migration needs them now.
    # (create_permissions skips app configs without models_module, as migration stubs are.)
    for app_config in apps.get_app_configs():
        original = getattr(app_config, "models_module", None)
        app_config.models_module = original or True
        create_permissions(app_config, apps=apps, verbosity=0)
        app_config.models_module = original
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    for name, perms in GROUPS.items():
        group, _ = Group.objects.get_or_create(name=name)
        for app_label, codename in perms:
            group.permissions.add(
                Permission.objects.get(content_type__app_label=app_label, codename=codename)
            )


def remove_groups(apps, schema_editor):
    apps.get_model("auth", "Group").objects.filter(name__in=list(GROUPS)).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("orders", "0003_staff_permissions"),
        ("payments", "0001_initial"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [migrations.RunPython(create_groups, remove_groups)]
