"""factory_boy factories for the shop's models; each app's tests add theirs here."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import factory
from factory.django import DjangoModelFactory

from notifications.models import Notification
from shop.models import Address, Cart, CartItem, Product, User

DEFAULT_PASSWORD = "correct-horse-battery-staple"


class UserFactory(DjangoModelFactory[User]):
    class Meta:
        model = User
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"customer{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    phone = factory.Sequence(lambda n: f"+234803{n:07d}")
    password = factory.PostGenerationMethodCall("set_password", DEFAULT_PASSWORD)

    @factory.post_generation
    def _save_password(obj, create, extracted, **kwargs):
        if create:
            obj.save(update_fields=["password"])


class StaffFactory(UserFactory):
    is_staff = True
    email = factory.Sequence(lambda n: f"staff{n}@example.com")


class ProductFactory(DjangoModelFactory[Product]):
    class Meta:
        model = Product

    sku = factory.Sequence(lambda n: f"SKU-{n:05d}")
    name = factory.Sequence(lambda n: f"Product {n}")
    description = "A product for tests."
    price = Decimal("2500.00")
    currency = "NGN"
    stock = 10
    is_active = True


class AddressFactory(DjangoModelFactory[Address]):
    class Meta:
        model = Address

    customer = factory.SubFactory(UserFactory)
    full_name = factory.Faker("name")
    phone = "+2348031234567"
    line1 = "12 Admiralty Way"
    city = "Lagos"
    state = "Lagos"
    postal_code = "106104"
    country = "NG"


class CartFactory(DjangoModelFactory[Cart]):
    class Meta:
        model = Cart

    customer = factory.SubFactory(UserFactory)
    currency = "NGN"


class CartItemFactory(DjangoModelFactory[CartItem]):
    class Meta:
        model = CartItem

    cart = factory.SubFactory(CartFactory)
    product = factory.SubFactory(ProductFactory)
    quantity = 1


# --- Notifications ---
class NotificationFactory(DjangoModelFactory[Notification]):
    class Meta:
        model = Notification

    channel = "email"
    recipient = factory.Sequence(lambda n: f"buyer{n}@example.com")
    template = "payment_received"
    context = factory.LazyFunction(
        lambda: {
            "order_number": "ORD-000123",
            "customer_name": "Ada Obi",
            "order_url": "https://shop.example.com/orders/ORD-000123",
            "amount": "45500.00",
            "currency": "NGN",
        }
    )
    dedup_key = factory.Sequence(lambda n: f"payment_received:ORD-{n:06d}:email")
    # Due a minute ago, so a test clock started before the row was created still finds it.
    next_attempt_at = factory.LazyFunction(lambda: datetime.now(tz=UTC) - timedelta(minutes=1))


# --- orders (checkout issue) ---------------------------------------------------------------
from orders.models import Order, OrderItem  # noqa: E402


class OrderFactory(DjangoModelFactory[Order]):
    """An order in any state (the state is set at creation, as a fixture, not a transition)."""

    class Meta:
        model = Order

    number = factory.Sequence(lambda n: f"ORD-T{n:09d}")
    customer = factory.SubFactory(UserFactory)
    payment_method = "bank_transfer"
    currency = "NGN"
    subtotal = Decimal("5000.00")
    shipping = Decimal("0.00")
    discount = Decimal("0.00")
    total = Decimal("5000.00")
    shipping_address = factory.LazyFunction(
        lambda: {
            "full_name": "Ada Obi",
            "phone": "+2348031234567",
            "line1": "12 Admiralty Way",
            "line2": "",
            "city": "Lagos",
            "state": "Lagos",
            "postal_code": "106104",
            "country": "NG",
        }
    )


class OrderItemFactory(DjangoModelFactory[OrderItem]):
    class Meta:
        model = OrderItem

    order = factory.SubFactory(OrderFactory)
    product = factory.SubFactory(ProductFactory)
    sku = factory.LazyAttribute(lambda o: o.product.sku)
    name = factory.LazyAttribute(lambda o: o.product.name)
    unit_price = Decimal("2500.00")
    quantity = 2
    line_total = factory.LazyAttribute(lambda o: o.unit_price * o.quantity)
