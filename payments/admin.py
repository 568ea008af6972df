"""Read-only views of the payment records: staff inspect here, change through services."""

from django.contrib import admin

from config.admin_lists import RefuseNulInFiltersMixin
from payments.models import Dispute, Payment, Refund, WebhookEvent


class ReadOnlyAdmin(RefuseNulInFiltersMixin, admin.ModelAdmin):
    def has_add_permission(self, request, obj=None) -> bool:
        return False

    def has_change_permission(self, request, obj=None) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = (
        "reference",
        "order",
        "gateway",
        "attempt",
        "amount",
        "currency",
        "status",
        "created_at",
    )
    list_filter = ("gateway", "status")
    search_fields = ("reference", "order__number")
    list_select_related = ("order",)


@admin.register(Refund)
class RefundAdmin(ReadOnlyAdmin):
    list_display = (
        "id",
        "payment",
        "amount",
        "currency",
        "status",
        "manual",
        "requested_by",
        "created_at",
    )
    list_filter = ("status", "manual")
    search_fields = ("payment__reference", "payment__order__number", "gateway_refund_id")
    list_select_related = ("payment", "requested_by")


@admin.register(Dispute)
class DisputeAdmin(ReadOnlyAdmin):
    list_display = ("gateway_dispute_id", "order", "gateway", "amount", "status", "evidence_due_at")
    list_filter = ("gateway", "status")
    search_fields = ("gateway_dispute_id", "order__number")
    list_select_related = ("order",)


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin):
    list_display = (
        "gateway",
        "event_type",
        "event_key",
        "signature_valid",
        "received_at",
        "processed_at",
        "attempts",
        "outcome",
    )
    list_filter = (
        "gateway",
        "signature_valid",
        "kind",
        ("processed_at", admin.EmptyFieldListFilter),
    )
    search_fields = ("event_key", "event_type")
