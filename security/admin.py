from django.contrib import admin
from django.http import HttpRequest

from core.admin_lists import RefuseNulInFiltersMixin
from security.models import AuditEvent


@admin.register(AuditEvent)
class AuditEventAdmin(RefuseNulInFiltersMixin, admin.ModelAdmin[AuditEvent]):
    """Read-only: the log is append-only, and reading it is not itself recorded."""

    list_display = ("at", "actor", "action", "object_type", "object_id", "ip")
    list_filter = ("action", "object_type")
    search_fields = ("object_id", "actor__email")
    list_select_related = ("actor",)
    date_hierarchy = "at"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: AuditEvent | None = None) -> bool:
        return False
