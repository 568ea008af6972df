from typing import Any

from django.contrib import admin, messages
from django.template import TemplateDoesNotExist, TemplateSyntaxError
from django.utils.html import format_html

from core.admin_lists import RefuseNulInFiltersMixin
from notifications import services
from notifications.events import without_secrets
from notifications.models import Notification
from notifications.rendering import render_email, render_sms


@admin.register(Notification)
class NotificationAdmin(RefuseNulInFiltersMixin, admin.ModelAdmin):
    list_display = [
        "id",
        "template",
        "channel",
        "recipient",
        "status",
        "needs_attention",
        "attempts_display",
        "next_attempt_at",
        "created_at",
        "sent_at",
    ]
    list_filter = ["status", "channel", "template"]
    search_fields = ["recipient", "dedup_key"]
    date_hierarchy = "created_at"
    actions = ["retry_now"]
    fields = [
        "template",
        "channel",
        "recipient",
        "status",
        "needs_attention",
        "attempts",
        "max_attempts",
        "next_attempt_at",
        "last_error",
        "provider_message_id",
        "dedup_key",
        "created_at",
        "updated_at",
        "sent_at",
        "shown_context",
        "rendered_message",
    ]
    readonly_fields = fields

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False

    @admin.display(boolean=True, description="needs attention", ordering="status")
    def needs_attention(self, obj: Notification) -> bool:
        return obj.needs_attention

    @admin.display(description="attempts")
    def attempts_display(self, obj: Notification) -> str:
        return f"{obj.attempts}/{obj.max_attempts}"

    @admin.display(description="context")
    def shown_context(self, obj: Notification) -> dict[str, Any]:
        return without_secrets(obj.template, obj.context)

    @admin.display(description="rendered message")
    def rendered_message(self, obj: Notification) -> str:
        context = without_secrets(obj.template, obj.context)
        try:
            if obj.channel == Notification.Channel.SMS:
                return format_html("<pre>{}</pre>", render_sms(obj.template, context))
            email = render_email(obj.template, context)
        except (TemplateDoesNotExist, TemplateSyntaxError) as exc:
            return format_html("<em>cannot render: {}</em>", exc)
        return format_html(
            "<p><strong>Subject:</strong> {}</p><pre>{}</pre>"
            '<iframe sandbox srcdoc="{}" style="width:100%;height:480px;border:1px solid #ccc">'
            "</iframe>",
            email.subject,
            email.text,
            email.html,
        )

    @admin.action(description="Retry now (failed and dead rows)")
    def retry_now(self, request, queryset) -> None:
        count = services.retry_now(ids=queryset.values_list("pk", flat=True))
        skipped = queryset.count() - count
        self.message_user(request, f"{count} notification(s) queued for an immediate retry.")
        if skipped > 0:
            self.message_user(
                request,
                f"{skipped} selected notification(s) were not failed or dead and were left alone.",
                messages.WARNING,
            )
