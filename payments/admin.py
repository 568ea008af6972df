"""Read-only views of the payment records: staff inspect here, change through services."""

from typing import Any, TypeVar

from django.contrib import admin, messages
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest

from core.admin_lists import RefuseNulInFiltersMixin
from payments import maintenance
from payments.models import Dispute, Payment, Refund, WebhookEvent

_ModelT = TypeVar("_ModelT", bound=Model)


class ReadOnlyAdmin(RefuseNulInFiltersMixin, admin.ModelAdmin[_ModelT]):
    def has_add_permission(self, request: HttpRequest, obj: _ModelT | None = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: _ModelT | None = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: _ModelT | None = None) -> bool:
        return False


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin[Payment]):
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
class RefundAdmin(ReadOnlyAdmin[Refund]):
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
class DisputeAdmin(ReadOnlyAdmin[Dispute]):
    list_display = ("gateway_dispute_id", "order", "gateway", "amount", "status", "evidence_due_at")
    list_filter = ("gateway", "status")
    search_fields = ("gateway_dispute_id", "order__number")
    list_select_related = ("order",)


_RE_DRIVEN = Q(signature_valid=True, processed_at__isnull=True, dead_at__isnull=True)
WEBHOOK_STATUSES = {
    "processed": ("Processed", Q(processed_at__isnull=False)),
    "waiting": ("Waiting (not failed yet)", _RE_DRIVEN & Q(last_error="")),
    "failing": ("Failing (retried by the re-drive)", _RE_DRIVEN & ~Q(last_error="")),
    "dead": ("Dead (no longer re-driven)", Q(dead_at__isnull=False)),
    "refused": ("Refused (bad signature)", Q(signature_valid=False)),
}


class WebhookStatusFilter(admin.SimpleListFilter):
    title = "status"
    parameter_name = "status"

    def lookups(
        self, request: HttpRequest, model_admin: admin.ModelAdmin[Any]
    ) -> list[tuple[str, str]]:
        return [(key, label) for key, (label, _) in WEBHOOK_STATUSES.items()]

    def queryset(
        self, request: HttpRequest, queryset: QuerySet[WebhookEvent]
    ) -> QuerySet[WebhookEvent]:
        status = WEBHOOK_STATUSES.get(self.value() or "")
        return queryset.filter(status[1]) if status else queryset


REPLAY_AT_MOST = 100  # each replay may ask a gateway: keep one admin request short


@admin.register(WebhookEvent)
class WebhookEventAdmin(ReadOnlyAdmin[WebhookEvent]):
    list_display = (
        "gateway",
        "event_type",
        "event_key",
        "status",
        "received_at",
        "processed_at",
        "attempts",
        "outcome",
    )
    list_filter = (
        WebhookStatusFilter,
        "gateway",
        "signature_valid",
        "kind",
        ("processed_at", admin.EmptyFieldListFilter),
    )
    search_fields = ("event_key", "event_type")
    actions = ["replay"]

    @admin.display(description="status")
    def status(self, obj: WebhookEvent) -> str:
        if not obj.signature_valid:
            return "refused"
        if obj.processed_at is not None:
            return "processed"
        if obj.dead_at is not None:
            return "dead"
        return "failing" if obj.last_error else "waiting"

    def has_replay_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("payments.replay_webhookevent")

    @admin.action(description="Replay selected unprocessed events now", permissions=["replay"])
    def replay(self, request: HttpRequest, queryset: QuerySet[WebhookEvent]) -> None:
        """Processes each selected unprocessed, verified event once, in this request, through
        the same service as the worker; processed and refused ones are left alone."""
        ids = list(
            queryset.filter(signature_valid=True, processed_at__isnull=True)
            .order_by("received_at", "pk")
            .values_list("pk", flat=True)[: REPLAY_AT_MOST + 1]
        )
        if len(ids) > REPLAY_AT_MOST:
            self.message_user(
                request,
                f"Select at most {REPLAY_AT_MOST} unprocessed events at a time; nothing replayed.",
                messages.ERROR,
            )
            return
        report = maintenance.replay_events(ids)
        skipped = queryset.count() - len(ids)
        outcomes = ", ".join(f"{n} {o}" for o, n in sorted(report.outcomes.items())) or "none"
        self.message_user(
            request,
            f"{report.processed} processed ({outcomes}), {report.deferred} deferred, "
            f"{report.failed} failed; {skipped} already processed or refused, left alone.",
            messages.ERROR if report.failed else messages.SUCCESS,
        )
