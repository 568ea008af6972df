"""Upgrading: the audit log moved from observability to security with its rows, its append-only
protection and the permissions (and groups) that name it."""

import pytest
from django.contrib.auth.models import Group, Permission
from django.contrib.contenttypes.models import ContentType
from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from security.models import AuditEvent, AuditEventAppendOnly
from shop.models import User
from tests.factories import StaffFactory

pytestmark = pytest.mark.django_db

OBSERVABILITY_FIRST = ("observability", "0001_initial")
BEFORE_THE_MOVE = [OBSERVABILITY_FIRST, ("security", None)]


@pytest.fixture
def clean_content_type_cache():
    yield
    # The test's rows are rolled back; ids cached meanwhile must not outlive them.
    ContentType.objects.clear_cache()


def audit_row_written_before_the_move(staff: User) -> int:
    executor = MigrationExecutor(connection)
    executor.migrate(BEFORE_THE_MOVE)
    old_model = executor.loader.project_state(OBSERVABILITY_FIRST).apps.get_model(
        "observability", "AuditEvent"
    )
    row = old_model.objects.create(
        actor_id=staff.pk,
        action="view",
        object_type="orders.order",
        object_id="42",
        path="/admin/orders/order/42/change/",
        ip="203.0.113.7",
    )
    return int(row.pk)


def auditors_holding_the_old_view_permission(staff: User) -> Permission:
    old_type, _ = ContentType.objects.get_or_create(app_label="observability", model="auditevent")
    view, _ = Permission.objects.get_or_create(
        content_type=old_type, codename="view_auditevent", defaults={"name": "Can view audit event"}
    )
    auditors = Group.objects.create(name="Auditors")
    auditors.permissions.add(view)
    staff.groups.add(auditors)
    return view


def migrate_forward() -> None:
    executor = MigrationExecutor(connection)
    executor.migrate(executor.loader.graph.leaf_nodes())
    ContentType.objects.clear_cache()


def test_an_upgraded_database_keeps_its_audit_rows_append_only(clean_content_type_cache):
    staff = StaffFactory.create()
    row_id = audit_row_written_before_the_move(staff)

    migrate_forward()

    event = AuditEvent.objects.get(pk=row_id)
    assert (event.actor_id, event.action, event.object_type, event.object_id, event.ip) == (
        staff.pk,
        "view",
        "orders.order",
        "42",
        "203.0.113.7",
    )
    event.action = "edited"
    with pytest.raises(AuditEventAppendOnly):
        event.save()
    with pytest.raises(AuditEventAppendOnly):
        event.delete()
    assert AuditEvent.objects.get(pk=row_id).action == "view"
    later = AuditEvent.objects.create(
        actor=staff, action="view", object_type="orders.order", object_id="43", path="/"
    )
    assert later.pk > row_id  # the same table, its id sequence carried on


def test_a_group_holding_the_audit_permission_before_the_upgrade_still_holds_it(
    clean_content_type_cache,
):
    staff = StaffFactory.create()
    audit_row_written_before_the_move(staff)
    # As the earlier release left it: the model's content type under the observability label.
    ContentType.objects.filter(app_label="security", model="auditevent").delete()
    view = auditors_holding_the_old_view_permission(staff)

    migrate_forward()

    assert (
        Permission.objects.get(content_type__app_label="security", codename="view_auditevent").pk
        == view.pk
    )
    assert not ContentType.objects.filter(app_label="observability").exists()
    assert User.objects.get(pk=staff.pk).has_perm("security.view_auditevent")


def test_the_group_keeps_its_permission_when_both_labels_exist_during_the_upgrade(
    clean_content_type_cache,
):
    staff = StaffFactory.create()
    audit_row_written_before_the_move(staff)
    # The newer code's content type is there too (it ran once before the migration did).
    new_type = ContentType.objects.create(app_label="security", model="auditevent")
    Permission.objects.create(
        content_type=new_type, codename="view_auditevent", name="Can view audit event"
    )
    auditors_holding_the_old_view_permission(staff)

    migrate_forward()

    assert not ContentType.objects.filter(app_label="observability").exists()
    assert set(
        Group.objects.get(name="Auditors").permissions.values_list("codename", flat=True)
    ) == {"view_auditevent"}
    assert User.objects.get(pk=staff.pk).has_perm("security.view_auditevent")


def test_the_audit_trails_old_admin_address_leads_to_its_new_one(client):
    response = client.get("/admin/observability/auditevent/42/change/?from=bookmark")

    assert response.status_code == 302
    assert response["Location"] == "/admin/security/auditevent/42/change/?from=bookmark"
