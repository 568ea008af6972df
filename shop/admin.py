"""Staff screens: customers, carts (read-mostly), addresses, settings. Products are in
``inventory/admin.py``, with their stock adjustments and ledger."""

from typing import Any

from django import forms
from django.contrib import admin
from django.contrib.auth.admin import UserAdmin as DjangoUserAdmin
from django.contrib.auth.forms import UserChangeForm, UserCreationForm
from django.core.exceptions import ValidationError
from django.forms.fields import InvalidJSONInput
from django.http import HttpRequest

from core.admin_lists import RefuseNulInFiltersMixin
from core.phones import is_supported_country, normalize_phone
from shop import platform_settings
from shop.models import Address, Cart, CartItem, PlatformSetting, User


class CustomerCreationForm(UserCreationForm):
    class Meta:
        model = User
        fields = ("email",)


class CustomerChangeForm(UserChangeForm):
    class Meta:
        model = User
        fields = "__all__"


@admin.register(User)
class CustomerAdmin(RefuseNulInFiltersMixin, DjangoUserAdmin):
    form = CustomerChangeForm
    add_form = CustomerCreationForm
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "phone", "is_staff", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active", "sms_opt_out"]
    search_fields = ["email", "first_name", "last_name", "phone"]
    fieldsets = (
        (None, {"fields": ("email", "password")}),
        ("Personal info", {"fields": ("first_name", "last_name", "phone", "sms_opt_out")}),
        (
            "Permissions",
            {"fields": ("is_active", "is_staff", "is_superuser", "groups", "user_permissions")},
        ),
        (
            "Important dates",
            {"fields": ("last_login", "date_joined", "email_verified_at", "erased_at")},
        ),
    )
    readonly_fields = ["erased_at"]
    add_fieldsets = ((None, {"classes": ("wide",), "fields": ("email", "password1", "password2")}),)


class CartItemInline(admin.TabularInline):
    model = CartItem
    fields = ["product", "quantity", "added_at"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False


@admin.register(Cart)
class CartAdmin(RefuseNulInFiltersMixin, admin.ModelAdmin):
    """Carts belong to customers; staff look, they do not edit."""

    list_display = ["customer", "currency", "line_count", "updated_at"]
    search_fields = ["customer__email"]
    readonly_fields = ["customer", "currency", "updated_at"]
    inlines = [CartItemInline]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="lines")
    def line_count(self, cart: Cart) -> int:
        return cart.items.count()


class AddressAdminForm(forms.ModelForm):
    """Staff edits follow the API's rules: known country, phone stored as E.164."""

    class Meta:
        model = Address
        fields = ["customer", *Address.EDITABLE_FIELDS]

    def clean_country(self) -> str:
        country = self.cleaned_data["country"].upper()
        if not is_supported_country(country):
            raise ValidationError("Use a 2-letter ISO 3166-1 country code, e.g. NG.")
        return country

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        if data.get("phone"):
            try:
                data["phone"] = normalize_phone(data["phone"], data.get("country"))
            except ValidationError as exc:
                self.add_error("phone", exc)
        return data


@admin.register(Address)
class AddressAdmin(RefuseNulInFiltersMixin, admin.ModelAdmin):
    form = AddressAdminForm
    list_display = ["full_name", "customer", "city", "country", "phone", "is_default"]
    list_filter = ["country", "is_default"]
    search_fields = ["full_name", "customer__email", "city", "phone", "postal_code"]
    raw_id_fields = ["customer"]


class SettingValueField(forms.JSONField):
    """Django's JSON form field, refusing text Python's decoder cannot take as a form error.

    Its decoder raises RecursionError for deep nesting and ValueError for an integer of more
    than 4,300 digits, which the stock field lets through as a 500.
    """

    def to_python(self, value: Any) -> Any:
        try:
            return super().to_python(value)
        except (RecursionError, ValueError) as exc:
            raise ValidationError("Enter a valid JSON value.", code="invalid") from exc

    def bound_data(self, data: Any, initial: Any) -> Any:
        # Showing the refused form again decodes the typed text once more.
        try:
            return super().bound_data(data, initial)
        except (RecursionError, ValueError):
            return InvalidJSONInput(data)


class PlatformSettingForm(forms.ModelForm):
    key = forms.ChoiceField(choices=[(key, key) for key in sorted(platform_settings.REGISTRY)])
    value = SettingValueField()

    class Meta:
        model = PlatformSetting
        fields = ["key", "value"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        key = data.get("key") or self.instance.key
        if key and "value" in data:
            try:
                data["value"] = platform_settings.validate_setting(key, data["value"])
            except ValidationError as exc:
                raise ValidationError(exc.message_dict) from exc
        return data


@admin.register(PlatformSetting)
class PlatformSettingAdmin(RefuseNulInFiltersMixin, admin.ModelAdmin):
    """Business rules. Values are JSON (a number, true/false, a list or an object)."""

    form = PlatformSettingForm
    list_display = ["key", "value", "registry_description", "updated_by", "updated_at"]
    readonly_fields = ["registry_description", "updated_by", "updated_at"]
    search_fields = ["key"]

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> list[str]:
        # a row is one rule: renaming it would silently create a second one
        return [*self.readonly_fields, "key"] if obj else list(self.readonly_fields)

    @admin.display(description="meaning")
    def registry_description(self, row: PlatformSetting) -> str:
        spec = platform_settings.REGISTRY.get(row.key)
        return spec.description if spec else "Unknown setting (ignored by the shop)."

    def save_model(
        self, request: HttpRequest, obj: PlatformSetting, form: Any, change: bool
    ) -> None:
        saved = platform_settings.set_setting(obj.key, obj.value, actor=request.user)
        obj.pk = saved.pk
