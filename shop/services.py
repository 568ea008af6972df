"""Every write of the shop app: accounts, cart and address book.

Each function owns its transaction. Cart writes lock the customer's cart row first, so two
requests on the same cart (two tabs adding the same product) run one after the other and the
second sees the first's line. Address writes lock the customer's row, which keeps "one default
address" true without relying on the partial unique constraint to fail.
"""

from typing import Any

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import MaxLengthValidator
from django.db import IntegrityError, transaction

from core.errors import InvalidInput
from core.phones import is_supported_country, normalize_phone
from shop.errors import (
    CurrencyMismatch,
    EmailTaken,
    InsufficientStock,
    ProductInactive,
    ProductNotFound,
    QuantityLimitExceeded,
)
from shop.models import Address, Cart, CartItem, Product, User, normalize_customer_email
from shop.selectors import (
    address_get_for_customer,
    cart_item_get_for_customer,
    product_available,
)

# --- Accounts -------------------------------------------------------------------------------


def _normalized_phone_field(raw: str, *, region: str | None = None, field: str = "phone") -> str:
    try:
        return normalize_phone(raw, region)
    except ValidationError as exc:
        raise ValidationError({field: exc.messages}) from exc


def _normalized_email_field(raw: str) -> str:
    """The email as it will be stored, refused when that form does not fit the column."""
    email = normalize_customer_email(raw)
    try:
        MaxLengthValidator(User._meta.get_field("email").max_length)(email)
    except ValidationError as exc:
        raise ValidationError({"email": exc.messages}) from exc
    return email


def customer_register(
    *, email: str, password: str, first_name: str, last_name: str, phone: str = ""
) -> User:
    email = _normalized_email_field(email)
    phone = _normalized_phone_field(phone) if phone else ""
    candidate = User(email=email, first_name=first_name, last_name=last_name)
    try:
        validate_password(password, user=candidate)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from exc
    if User.objects.filter(email__iexact=email).exists():
        raise EmailTaken(details={"email": email})
    try:
        with transaction.atomic():
            return User.objects.create_user(
                email=email,
                password=password,
                first_name=first_name,
                last_name=last_name,
                phone=phone,
            )
    except IntegrityError as exc:  # a concurrent registration won the unique index
        raise EmailTaken(details={"email": email}) from exc


def customer_update(*, customer: User, data: dict[str, Any]) -> User:
    changes: dict[str, Any] = {}
    for field in ("first_name", "last_name", "sms_opt_out"):
        if field in data:
            changes[field] = data[field]
    if "phone" in data:
        changes["phone"] = _normalized_phone_field(data["phone"]) if data["phone"] else ""
    if changes:
        with transaction.atomic():
            User.objects.filter(pk=customer.pk).update(**changes)
        customer.refresh_from_db()
    return customer


# --- Cart -----------------------------------------------------------------------------------


def cart_get_or_create(*, customer: User) -> Cart:
    cart, _ = Cart.objects.get_or_create(customer=customer)  # savepoint-safe against races
    return cart


def _lock_cart(*, customer: User) -> Cart:
    cart = cart_get_or_create(customer=customer)
    return Cart.objects.select_for_update().get(pk=cart.pk)


def _check_quantity(quantity: int) -> None:
    if isinstance(quantity, bool) or not isinstance(quantity, int) or quantity < 1:
        raise InvalidInput("Quantity must be a positive whole number.")
    if quantity > settings.CART_MAX_QUANTITY:
        raise QuantityLimitExceeded(details={"max_quantity": settings.CART_MAX_QUANTITY})


def _sellable_product(product_id: int) -> Product:
    product = Product.objects.filter(pk=product_id).first()
    if product is None:
        raise ProductNotFound(details={"product_id": product_id})
    if not product.is_active:
        raise ProductInactive(details={"product_id": product_id})
    return product


def _check_available(product: Product, quantity: int) -> None:
    """A friendly early refusal; the binding stock check happens at checkout."""
    available = product_available(product_id=product.pk)
    if quantity > available:
        # The same details shape as checkout's refusal, so clients read one format.
        raise InsufficientStock(
            details={
                "products": [
                    {
                        "product_id": product.pk,
                        "sku": product.sku,
                        "name": product.name,
                        "requested": quantity,
                        "available": available,
                    }
                ]
            }
        )


@transaction.atomic
def cart_add_item(*, customer: User, product_id: int, quantity: int) -> CartItem:
    """Add units of a product; a product already in the cart grows its line."""
    _check_quantity(quantity)
    cart = _lock_cart(customer=customer)
    product = _sellable_product(product_id)
    line = CartItem.objects.filter(cart=cart, product=product).first()
    if line is None and cart.items.exists() and cart.currency != product.currency:
        raise CurrencyMismatch(
            details={"cart_currency": cart.currency, "product_currency": product.currency}
        )
    new_quantity = quantity + (line.quantity if line else 0)
    if new_quantity > settings.CART_MAX_QUANTITY:
        raise QuantityLimitExceeded(
            details={
                "max_quantity": settings.CART_MAX_QUANTITY,
                "in_cart": line.quantity if line else 0,
            }
        )
    _check_available(product, new_quantity)
    if line is None:
        line = CartItem.objects.create(cart=cart, product=product, quantity=new_quantity)
    else:
        line.quantity = new_quantity
        line.save(update_fields=["quantity"])
    cart.currency = product.currency
    cart.save(update_fields=["currency", "updated_at"])
    return line


@transaction.atomic
def cart_item_set_quantity(*, customer: User, item_id: int, quantity: int) -> CartItem:
    _check_quantity(quantity)
    cart = _lock_cart(customer=customer)
    line = cart_item_get_for_customer(customer=customer, item_id=item_id)
    if quantity > line.quantity:  # lowering a line is always allowed
        product = _sellable_product(line.product_id)
        _check_available(product, quantity)
    line.quantity = quantity
    line.save(update_fields=["quantity"])
    cart.save(update_fields=["updated_at"])
    return line


@transaction.atomic
def cart_item_remove(*, customer: User, item_id: int) -> None:
    cart = _lock_cart(customer=customer)
    line = cart_item_get_for_customer(customer=customer, item_id=item_id)
    line.delete()
    if not cart.items.exists():
        cart.currency = ""  # an empty cart accepts any currency again
    cart.save(update_fields=["currency", "updated_at"])


@transaction.atomic
def cart_clear(*, customer: User) -> None:
    """Empty the customer's cart (checkout calls this inside its own transaction)."""
    cart = Cart.objects.select_for_update().filter(customer=customer).first()
    if cart is None:
        return
    cart.items.all().delete()
    cart.currency = ""
    cart.save(update_fields=["currency", "updated_at"])


# --- Address book ---------------------------------------------------------------------------


def _lock_customer(customer: User) -> None:
    User.objects.select_for_update().filter(pk=customer.pk).values_list("pk").first()


def _apply_address_data(address: Address, data: dict[str, Any]) -> None:
    for field in Address.EDITABLE_FIELDS:
        if field in data:
            value = data[field]
            setattr(address, field, value.strip() if isinstance(value, str) else value)
    address.country = (address.country or "").upper()
    if not is_supported_country(address.country):
        raise ValidationError({"country": ["Use a 2-letter ISO 3166-1 country code, e.g. NG."]})
    address.phone = _normalized_phone_field(address.phone, region=address.country)
    # the one-default rule is enforced by _save_with_default_rule, not reported as an error
    address.full_clean(exclude=["customer"], validate_constraints=False)


def _save_with_default_rule(address: Address) -> Address:
    if address.is_default:
        Address.objects.filter(customer_id=address.customer_id, is_default=True).exclude(
            pk=address.pk
        ).update(is_default=False)
    address.save()
    return address


@transaction.atomic
def address_create(*, customer: User, data: dict[str, Any]) -> Address:
    """Save a new address; ``is_default=True`` makes it the only default one."""
    _lock_customer(customer)
    address = Address(customer=customer)
    _apply_address_data(address, data)
    return _save_with_default_rule(address)


@transaction.atomic
def address_update(*, customer: User, address_id: int, data: dict[str, Any]) -> Address:
    _lock_customer(customer)
    address = address_get_for_customer(customer=customer, address_id=address_id)
    _apply_address_data(address, data)
    return _save_with_default_rule(address)


@transaction.atomic
def address_delete(*, customer: User, address_id: int) -> None:
    address = address_get_for_customer(customer=customer, address_id=address_id)
    address.delete()
