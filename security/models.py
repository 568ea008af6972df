"""The audit log of sensitive reads (staff opening an order) and staff sign-ins; staff *actions*
are OrderEvents."""

from typing import Any, NoReturn

from django.conf import settings
from django.db import models
from django.utils import timezone


class AuditEventAppendOnly(Exception):
    pass


class AuditEvent(models.Model):
    """Who looked at what, from where, when. Append-only: updates and deletes are refused."""

    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,  # the log is never rewritten, so its actors stay
        related_name="+",
    )
    action = models.CharField(max_length=50)
    object_type = models.CharField(max_length=100)
    object_id = models.CharField(max_length=64)
    path = models.CharField(max_length=300)
    ip = models.GenericIPAddressField(null=True, blank=True)
    at = models.DateTimeField(default=timezone.now, editable=False)

    class Meta:
        # The table kept its name when the model moved here from observability: no rename, so
        # processes of the previous release keep writing to it during a deploy.
        db_table = "observability_auditevent"
        ordering = ["-at", "-id"]
        indexes = [
            models.Index(fields=["object_type", "object_id", "at"], name="audit_object_time"),
            models.Index(fields=["actor", "at"], name="audit_actor_time"),
        ]

    def __str__(self) -> str:
        return f"{self.actor_id} {self.action} {self.object_type}:{self.object_id}"

    def save(self, *args: Any, **kwargs: Any) -> None:
        if not self._state.adding:
            raise AuditEventAppendOnly("Audit events are append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args: Any, **kwargs: Any) -> NoReturn:
        raise AuditEventAppendOnly("Audit events are append-only.")
