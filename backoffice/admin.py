"""Staff screens for orders: a read-only order page whose buttons call the staff services.

Nothing on an order is edited as a field (the state least of all): every change is an action
(custom admin views below) that checks the staff permission and calls
``backoffice.services``, which writes the timeline event.
"""

import uuid
from typing import Any, TypeVar

from django.contrib import admin, messages
from django.contrib.admin import DateFieldListFilter
from django.core.exceptions import PermissionDenied
from django.db.models import Model, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html_join

from backoffice import admin_forms
from backoffice import permissions as perms
from backoffice import services as staff
from backoffice.admin_actions import ACTIONS
from core.admin_lists import RefuseNulInFiltersMixin
from core.errors import DomainError
from orders.models import Order, OrderEvent, OrderItem
from orders.states import OrderState
from payments.models import Payment, Refund
from security.throttles import StaffThrottle, throttle_view

S = OrderState
_ChildT = TypeVar("_ChildT", bound=Model)


_ADDRESS_LINES = [
    "full_name",
    "phone",
    "line1",
    "line2",
    "city",
    "state",
    "postal_code",
    "country",
]


class ReadOnlyInline(admin.TabularInline[_ChildT, Order]):
    extra = 0
    can_delete = False
    show_change_link = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


class OrderItemInline(ReadOnlyInline[OrderItem]):
    model = OrderItem
    fields = readonly_fields = (
        "sku",
        "name",
        "unit_price",
        "quantity",
        "line_total",
        "quantity_restocked",
    )


class OrderEventInline(ReadOnlyInline[OrderEvent]):
    """The full timeline, newest first."""

    model = OrderEvent
    verbose_name = "timeline event"
    verbose_name_plural = "Timeline (newest first)"
    fields = readonly_fields = (
        "created_at",
        "kind",
        "from_state",
        "to_state",
        "actor_type",
        "actor",
        "reason",
        "payload",
    )

    def get_queryset(self, request: HttpRequest) -> QuerySet[OrderEvent]:
        return super().get_queryset(request).select_related("actor").order_by("-created_at", "-id")


class PaymentInline(ReadOnlyInline[Payment]):
    model = Payment
    verbose_name_plural = "Payments"
    fields = readonly_fields = (
        "reference",
        "gateway",
        "attempt",
        "amount",
        "currency",
        "status",
        "failure_reason",
        "created_at",
    )
    ordering = ["attempt"]


@admin.register(Order)
class OrderAdmin(RefuseNulInFiltersMixin, admin.ModelAdmin[Order]):
    list_display = [
        "number",
        "customer_email",
        "state",
        "payment_status",
        "payment_method",
        "total_with_currency",
        "needs_attention",
        "created_at",
    ]
    list_select_related = ["customer"]
    list_filter = [
        "state",
        "payment_status",
        "payment_method",
        "needs_attention",
        ("created_at", DateFieldListFilter),
    ]
    search_fields = [
        "number",
        "customer__email",
        "customer__phone",
        "shipping_address__phone",
        "payments__reference",
    ]
    ordering = ["-created_at", "-id"]
    list_per_page = 50
    show_full_result_count = False
    actions = ["bulk_mark_processing", "bulk_mark_ready_for_shipment"]
    inlines = [OrderItemInline, PaymentInline, OrderEventInline]
    change_form_template = "admin/orders/order/change_form.html"
    fieldsets = [
        (None, {"fields": ["number", "customer", "state", "payment_status", "payment_method"]}),
        (
            "Money",
            {
                "fields": [
                    "currency",
                    "subtotal",
                    "shipping",
                    "discount",
                    "total",
                    "amount_refunded",
                    "refundable_balance",
                    "refunds",
                ]
            },
        ),
        (
            "Delivery",
            {"fields": ["shipping_address_snapshot", "note", "tracking_number", "carrier"]},
        ),
        (
            "Status",
            {
                "fields": [
                    "needs_attention",
                    "attention_reason",
                    "stock_deducted",
                    "expires_at",
                    "paid_at",
                    "created_at",
                    "updated_at",
                ]
            },
        ),
    ]
    readonly_fields = [
        field for _, options in fieldsets for field in options["fields"] if field != "customer"
    ] + ["customer"]

    # --- read-only: every change is an action ----------------------------------------------
    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_fulfil_permission(self, request: HttpRequest) -> bool:
        return perms.has_staff_permission(request.user, perms.FULFIL)

    # --- list columns ----------------------------------------------------------------------
    @admin.display(description="customer", ordering="customer__email")
    def customer_email(self, order: Order) -> str:
        return order.customer.email

    @admin.display(description="total", ordering="total")
    def total_with_currency(self, order: Order) -> str:
        return f"{order.total} {order.currency}"

    @admin.display(description="refundable balance")
    def refundable_balance(self, order: Order) -> str:
        return f"{staff.refundable_balance(order)} {order.currency}"

    @admin.display(description="refunds")
    def refunds(self, order: Order) -> str:
        refunds = Refund.objects.filter(payment__order=order).select_related("requested_by")
        return (
            format_html_join(
                "",
                "<div>{} {} &middot; {}{} &middot; {} &middot; {} &middot; {}</div>",
                (
                    (
                        refund.amount,
                        refund.currency,
                        refund.get_status_display(),
                        " (manual)" if refund.manual else "",
                        refund.reason or "-",
                        refund.requested_by.email if refund.requested_by else "gateway",
                        refund.created_at.strftime("%Y-%m-%d %H:%M"),
                    )
                    for refund in refunds.order_by("-created_at", "-id")
                ),
            )
            or "-"
        )

    @admin.display(description="shipping address (at checkout)")
    def shipping_address_snapshot(self, order: Order) -> str:
        address = order.shipping_address or {}
        return format_html_join(
            "",
            "<div>{}</div>",
            ((address.get(key) or "",) for key in _ADDRESS_LINES if address.get(key)),
        )

    def get_queryset(self, request: HttpRequest) -> QuerySet[Order]:
        return super().get_queryset(request).select_related("customer")

    # --- the order page's buttons ------------------------------------------------------------
    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:order_id>/action/<slug:slug>/",
                self.admin_site.admin_view(self.action_view),
                name="orders_order_action",
            ),
            *super().get_urls(),
        ]

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        order = self.get_object(request, object_id)
        extra_context = dict(extra_context or {})
        if order is not None:
            extra_context["order_actions"] = [
                {
                    "label": action.label,
                    "slug": action.slug,
                    "url": reverse("admin:orders_order_action", args=[order.pk, action.slug]),
                    "button_class": action.button_class,
                }
                for action in ACTIONS.values()
                if action.available(order)
                and perms.has_staff_permission(request.user, action.permission(order))
            ]
        return super().change_view(request, object_id, form_url, extra_context)

    def action_view(self, request: HttpRequest, order_id: int, slug: str) -> HttpResponse:
        if request.method == "POST":  # submitting an action counts; showing its form does not
            return throttle_view(StaffThrottle)(self._action_page)(request, order_id, slug)
        return self._action_page(request, order_id, slug)

    def _action_page(self, request: HttpRequest, order_id: int, slug: str) -> HttpResponse:
        action = ACTIONS.get(slug)
        order = get_object_or_404(Order, pk=order_id)
        if action is None:
            raise PermissionDenied
        if not perms.has_staff_permission(request.user, action.permission(order)):
            raise PermissionDenied
        change_url = reverse("admin:orders_order_change", args=[order.pk])
        available = action.available(order)
        if not available:
            # The button is not drawn for this order now; a posted form (an old tab, a forged
            # URL) is refused the same way, before anything runs.
            unavailable = (
                f"{order.number}: {action.label.lower()} is not available for an order that "
                f"is {order.get_state_display().lower()} (payment {order.payment_status})."
            )
            messages.error(request, unavailable)
            if request.method != "POST":
                return HttpResponseRedirect(change_url)
        form_kwargs: dict[str, Any] = {}
        if action.form is admin_forms.RefundForm:
            # One key per form shown: a double-submitted form refunds once.
            form_kwargs = {
                "order": order,
                "refundable": staff.refundable_balance(order),
                "unapplied": [(p.reference, left) for p, left in staff.unapplied_money(order)],
                "initial": {"idempotency_key": uuid.uuid4().hex},
            }
        form = action.form(request.POST or None, **form_kwargs)
        if request.method == "POST" and available and form.is_valid():
            try:
                done = action.run(order, form.cleaned_data, request.user)
            except DomainError as error:
                messages.error(request, f"{error.message} ({error.code})")
            else:
                default = f"{order.number}: {action.label.lower()} done."
                messages.success(request, done if isinstance(done, str) else default)
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"{action.label}: {order.number}",
            "order": order,
            "action": action,
            "form": form,
            "change_url": change_url,
            "refundable": staff.refundable_balance(order),
        }
        return TemplateResponse(request, "admin/orders/order/action_form.html", context)

    # --- bulk actions ------------------------------------------------------------------------
    @admin.action(description="Mark selected orders processing", permissions=["fulfil"])
    def bulk_mark_processing(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._bulk_status(request, queryset, S.PROCESSING)

    @admin.action(description="Mark selected orders ready for shipment", permissions=["fulfil"])
    def bulk_mark_ready_for_shipment(self, request: HttpRequest, queryset: QuerySet[Order]) -> None:
        self._bulk_status(request, queryset, S.READY_FOR_SHIPMENT)

    def _bulk_status(self, request: HttpRequest, queryset: QuerySet[Order], target: str) -> None:
        done: list[str] = []
        refused: list[str] = []
        for order_id, number in queryset.order_by("pk").values_list("pk", "number"):
            try:
                staff.update_order_status(
                    order_id=order_id, to_state=target, actor=request.user, reason="Bulk action"
                )
            except DomainError as error:
                refused.append(f"{number} ({error.code}: {error.message})")
            else:
                done.append(number)
        if done:
            messages.success(request, f"Marked {target}: {', '.join(done)}.")
        if refused:
            messages.warning(request, f"Refused: {'; '.join(refused)}.")
