"""Staff screens of stock: products (stock read-only, changed by adjustments), the stock
ledger and the inventory locks.

The product admin lives here, not in ``shop``, because its stock is inventory's: no form or
list of it writes ``Product.stock``; the "Adjust stock" page calls
``inventory.adjustments.adjust_stock``, which decides under the product's row lock and writes
the ledger. (``inventory`` builds on ``shop``; ``shop`` does not import ``inventory``.)
"""

from typing import Any

from django.contrib import admin, messages
from django.contrib.admin import DateFieldListFilter
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect, QueryDict
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html, format_html_join
from django_stubs_ext import WithAnnotations

from core.admin_lists import RefuseNulInFiltersMixin
from core.errors import DomainError
from inventory.adjustments import adjust_stock, create_product
from inventory.admin_forms import StockAdjustmentForm
from inventory.errors import StockChanged
from inventory.models import InventoryLock, StockMovement
from shop.models import Product
from shop.selectors import Availability, product_queryset_with_available

ADJUST_STOCK = "inventory.adjust_stock"
RECENT_MOVEMENTS = 10


def can_adjust_stock(user: Any) -> bool:
    return bool(user.is_active and user.is_staff and user.has_perm(ADJUST_STOCK))


@admin.register(Product)
class ProductAdmin(RefuseNulInFiltersMixin, admin.ModelAdmin[Product]):
    list_display = ["sku", "name", "price", "currency", "stock", "available", "is_active"]
    list_display_links = ["sku", "name"]
    list_filter = ["is_active", "currency"]
    search_fields = ["sku", "name", "description"]
    readonly_fields = ["created_at", "updated_at"]
    ordering = ["name", "id"]
    change_form_template = "admin/inventory/product/change_form.html"

    def get_queryset(self, request: HttpRequest) -> QuerySet[Product]:
        return product_queryset_with_available()

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # A new product sets its initial stock; after that stock changes by adjustment only.
        if obj is None:
            return list(self.readonly_fields)
        return ["stock", "recent_stock_movements", *self.readonly_fields]

    @admin.display(description="available", ordering="available")
    def available(self, product: "WithAnnotations[Product, Availability]") -> int:
        return product.available  # get_queryset's annotation

    @admin.display(description="recent stock movements")
    def recent_stock_movements(self, product: Product) -> str:
        movements = StockMovement.objects.filter(product=product).select_related("actor")
        rows = format_html_join(
            "",
            "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>"
            "<td>{}</td></tr>",
            (
                (
                    m.created_at.strftime("%Y-%m-%d %H:%M"),
                    m.get_kind_display(),
                    f"{m.delta:+d}",
                    m.stock_after,
                    m.order_number or "-",
                    m.actor.email if m.actor else "-",
                    m.reason or "-",
                )
                for m in movements[:RECENT_MOVEMENTS]
            ),
        )
        if not rows:
            return "No stock movement recorded yet."
        ledger_url = reverse("admin:inventory_stockmovement_changelist")
        return format_html(
            '<table id="recent-stock-movements"><thead><tr><th>when</th><th>kind</th>'
            "<th>change</th><th>stock after</th><th>order</th><th>by</th><th>reason</th>"
            '</tr></thead><tbody>{}</tbody></table><p><a href="{}?product__id__exact={}">'
            "All movements of this product</a></p>",
            rows,
            ledger_url,
            product.pk,
        )

    def save_model(self, request: HttpRequest, obj: Product, form: Any, change: bool) -> None:
        if not change:
            create_product(product=obj, actor=request.user, reason="Created in the admin")
            return
        # Only what this form changed: never a stock figure read when the page was drawn.
        changed = [name for name in form.changed_data if name != "stock"]
        if changed:
            obj.save(update_fields=[*changed, "updated_at"])

    # --- the "Adjust stock" page ---------------------------------------------------------------
    def get_urls(self) -> list[Any]:
        return [
            path(
                "<int:product_id>/adjust-stock/",
                self.admin_site.admin_view(self.adjust_stock_view),
                name="shop_product_adjust_stock",
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
        extra_context = dict(extra_context or {})
        if can_adjust_stock(request.user) and str(object_id).isdigit():
            extra_context["adjust_stock_url"] = reverse(
                "admin:shop_product_adjust_stock", args=[int(object_id)]
            )
        return super().change_view(request, object_id, form_url, extra_context)

    def adjust_stock_view(self, request: HttpRequest, product_id: int) -> HttpResponse:
        # Checked for the form and again for the POST: a hidden button is not a permission.
        if not can_adjust_stock(request.user):
            raise PermissionDenied
        product = get_object_or_404(Product, pk=product_id)
        change_url = reverse("admin:shop_product_change", args=[product.pk])
        form = StockAdjustmentForm(
            request.POST if request.method == "POST" else None,
            initial={"stock_seen": product.stock},
        )
        if request.method == "POST" and form.is_valid():
            try:
                movement = adjust_stock(
                    product_id=product.pk,
                    reason=form.cleaned_data["reason"],
                    actor=request.user,
                    **form.adjustment(),
                )
            except DomainError as error:
                product.refresh_from_db()
                form = self._refused_form(form, request.POST, error, product)
            else:
                product.refresh_from_db()
                done = (
                    f"{movement.delta:+d}, stock now {movement.stock_after}"
                    if movement
                    else f"unchanged at {product.stock}"
                )
                messages.success(request, f"{product.sku}: stock {done}.")
                return HttpResponseRedirect(change_url)
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "title": f"Adjust stock: {product.sku}",
            "product": product,
            "form": form,
            "change_url": change_url,
        }
        return TemplateResponse(request, "admin/inventory/product/adjust_stock.html", context)

    @staticmethod
    def _refused_form(
        form: StockAdjustmentForm, posted: QueryDict, error: DomainError, product: Product
    ) -> StockAdjustmentForm:
        """The form again with the refusal as its error. After ``stock_changed`` the page shows
        the new figure, so the hidden "stock seen" becomes that figure: a resubmit is decided
        against what the editor now sees."""
        if isinstance(error, StockChanged):
            data = posted.copy()  # the form's data
            data["stock_seen"] = str(product.stock)
            form = StockAdjustmentForm(data)
            form.is_valid()
            message = (
                f"The stock changed since this page was opened: it is now {product.stock} "
                f"(you saw {error.details['expected_stock']}). Check the figure and submit "
                "again."
            )
        else:
            message = error.message
        form.add_error(None, f"{message} ({error.code})")
        return form


@admin.register(StockMovement)
class StockMovementAdmin(RefuseNulInFiltersMixin, admin.ModelAdmin[StockMovement]):
    """The stock ledger, read-only: rows are written by the stock services only."""

    list_display = [
        "created_at",
        "product_sku",
        "kind",
        "delta",
        "stock_after",
        "order_number",
        "actor",
        "reason",
    ]
    list_select_related = ["product", "actor"]
    list_filter = ["kind", ("created_at", DateFieldListFilter)]
    search_fields = ["product__sku", "order_number"]
    ordering = ["-created_at", "-id"]
    list_per_page = 100
    show_full_result_count = False

    def lookup_allowed(self, lookup: str, value: str, request: HttpRequest | None = None) -> bool:
        # The product page links to its own movements.
        return lookup == "product__id__exact" or super().lookup_allowed(lookup, value, request)

    @admin.display(description="product", ordering="product__sku")
    def product_sku(self, movement: StockMovement) -> str:
        return movement.product.sku

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(InventoryLock)
class InventoryLockAdmin(RefuseNulInFiltersMixin, admin.ModelAdmin[InventoryLock]):
    list_display = ("id", "product", "owner", "quantity", "expires_at", "created_at")
    list_select_related = ("product",)
    search_fields = ("owner", "product__sku")
    list_filter = ("expires_at",)

    def has_add_permission(self, request: HttpRequest, obj: InventoryLock | None = None) -> bool:
        return False  # locks are written by checkout only

    def has_change_permission(self, request: HttpRequest, obj: InventoryLock | None = None) -> bool:
        return False
