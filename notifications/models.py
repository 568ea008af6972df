"""The notification outbox: one row per message to one recipient on one channel.

Rows are written in the caller's transaction (so an order change and its notification commit
or roll back together) and delivered later by ``services.dispatch_due``.
"""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import Q
from django.utils import timezone


def default_max_attempts() -> int:
    return settings.NOTIFICATION_MAX_ATTEMPTS


class Notification(models.Model):
    class Channel(models.TextChoices):
        EMAIL = "email", "Email"
        SMS = "sms", "SMS"

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        FAILED = "failed", "Failed (will retry)"
        DEAD = "dead", "Dead (needs attention)"

    channel = models.CharField(max_length=8, choices=Channel.choices)
    recipient = models.CharField(max_length=254, help_text="Email address or E.164 phone number.")
    template = models.CharField(max_length=64, help_text="Event name; picks the templates.")
    context = models.JSONField(default=dict, encoder=DjangoJSONEncoder)
    dedup_key = models.CharField(
        max_length=255, help_text="The same event never notifies twice: one row per key."
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    attempts = models.PositiveSmallIntegerField(default=0)
    max_attempts = models.PositiveSmallIntegerField(default=default_max_attempts)
    # For queued/failed rows: when to try next. For a `sending` row: when its claim (lease)
    # expires and another dispatcher may take it over.
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.TextField(blank=True)
    provider_message_id = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-pk"]
        indexes = [
            models.Index(fields=["status", "next_attempt_at"], name="notification_due_idx"),
            models.Index(fields=["template", "status"], name="notification_template_idx"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["dedup_key"], name="notification_dedup_key_unique"),
            models.CheckConstraint(
                condition=Q(channel__in=["email", "sms"]), name="notification_channel_valid"
            ),
            models.CheckConstraint(
                condition=Q(status__in=["queued", "sending", "sent", "failed", "dead"]),
                name="notification_status_valid",
            ),
            models.CheckConstraint(
                condition=Q(max_attempts__gte=1) & Q(attempts__lte=models.F("max_attempts")),
                name="notification_attempts_within_max",
            ),
            models.CheckConstraint(
                condition=~Q(status="sent") | Q(sent_at__isnull=False),
                name="notification_sent_has_sent_at",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template} → {self.recipient} ({self.channel}, {self.status})"

    @property
    def needs_attention(self) -> bool:
        return self.status == self.Status.DEAD
