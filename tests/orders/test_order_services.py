from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError, transaction
from django.utils import timezone

from core.errors import DomainError
from inventory.models import InventoryLock
from inventory.selectors import get_available_stock
from orders import services
from orders.models import AppendOnlyError, Order, OrderEvent
from orders.states import OrderState, PaymentStatus
from shop.models import Product
from tests.factories import ProductFactory, StaffFactory, UserFactory
from tests.orders.helpers import place

pytestmark = pytest.mark.django_db
S = OrderState


@pytest.fixture
def staff():
    return StaffFactory()


def stock_of(product) -> int:
    return Product.objects.get(pk=product.pk).stock


def events_of(order) -> list[tuple[str, str, str]]:
    return list(
        OrderEvent.objects.filter(order=order)
        .order_by("id")
        .values_list("kind", "from_state", "to_state")
    )


def expire_locks(order):
    InventoryLock.objects.filter(owner=order.number).update(
        expires_at=timezone.now() - timedelta(seconds=1)
    )


def test_payment_deducts_stock_and_consumes_locks():
    product = ProductFactory(stock=5, price=Decimal("1000.00"))
    order = place(UserFactory(), [(product, 2)]).order
    services.mark_paid(order_id=order.pk, amount=Decimal("2000.00"), currency="NGN")
    order.refresh_from_db()
    assert (order.state, order.payment_status, order.stock_deducted) == (S.PAID, "paid", True)
    assert stock_of(product) == 3
    assert InventoryLock.objects.count() == 0
    assert events_of(order) == [
        ("placed", "", S.PENDING_PAYMENT),
        ("paid", S.PENDING_PAYMENT, S.PAID),
    ]


def test_payment_with_wrong_amount_or_currency_changes_nothing():
    product = ProductFactory(stock=5, price=Decimal("1000.00"))
    order = place(UserFactory(), [(product, 2)]).order
    for amount, currency in [(Decimal("1999.00"), "NGN"), (Decimal("2000.00"), "USD")]:
        with pytest.raises(DomainError) as exc:
            services.mark_paid(order_id=order.pk, amount=amount, currency=currency)
        assert exc.value.code == "payment_mismatch"
    order.refresh_from_db()
    assert order.state == S.PENDING_PAYMENT
    assert stock_of(product) == 5
    assert InventoryLock.objects.get().quantity == 2
    assert len(events_of(order)) == 1


def test_late_payment_re_reserves_when_stock_is_still_free():
    product = ProductFactory(stock=5, price=Decimal("1000.00"))
    order = place(UserFactory(), [(product, 2)]).order
    expire_locks(order)
    services.mark_paid(order_id=order.pk, amount=Decimal("2000.00"), currency="NGN")
    order.refresh_from_db()
    assert (order.state, order.needs_attention) == (S.PAID, False)
    assert stock_of(product) == 3
    assert InventoryLock.objects.count() == 0


def test_late_payment_when_stock_was_sold_is_paid_but_flagged_never_oversold():
    product = ProductFactory(stock=2, price=Decimal("1000.00"))
    late = place(UserFactory(), [(product, 2)]).order
    expire_locks(late)
    rival = place(UserFactory(), [(product, 2)]).order
    services.mark_paid(order_id=rival.pk, amount=Decimal("2000.00"), currency="NGN")

    services.mark_paid(order_id=late.pk, amount=Decimal("2000.00"), currency="NGN")

    late.refresh_from_db()
    assert (late.state, late.payment_status) == (S.PAID, PaymentStatus.PAID)
    assert late.needs_attention is True
    assert late.attention_reason == "out_of_stock_after_payment"
    assert late.stock_deducted is False
    assert stock_of(product) == 0
    paid_event = OrderEvent.objects.filter(order=late, kind="paid").get()
    assert paid_event.payload["stock"] == "short"
    assert paid_event.payload["short_products"][0]["available"] == 0


def test_failure_releases_and_retry_reserves_again():
    product = ProductFactory(stock=3)
    order = place(UserFactory(), [(product, 2)]).order
    services.mark_payment_failed(order_id=order.pk, reason="card declined")
    assert get_available_stock(product.pk) == 3
    services.retry_payment(order_id=order.pk)
    order.refresh_from_db()
    assert order.state == S.PENDING_PAYMENT
    assert get_available_stock(product.pk) == 1


def test_retry_refused_when_stock_is_gone_changes_nothing():
    product = ProductFactory(stock=2)
    order = place(UserFactory(), [(product, 2)]).order
    services.mark_payment_failed(order_id=order.pk)
    place(UserFactory(), [(product, 2)])
    with pytest.raises(DomainError) as exc:
        services.retry_payment(order_id=order.pk)
    assert exc.value.code == "insufficient_stock"
    order.refresh_from_db()
    assert order.state == S.PAYMENT_FAILED
    assert InventoryLock.objects.filter(owner=order.number).count() == 0


def test_customer_cancel_releases_locks_but_cannot_cancel_a_paid_order():
    product = ProductFactory(stock=3, price=Decimal("1000.00"))
    customer = UserFactory()
    order = place(customer, [(product, 2)]).order
    services.cancel_order(order_id=order.pk, actor_type="customer", actor=customer)
    order.refresh_from_db()
    assert order.state == S.CANCELLED
    assert get_available_stock(product.pk) == 3

    paid = place(customer, [(product, 1)]).order
    services.mark_paid(order_id=paid.pk, amount=Decimal("1000.00"), currency="NGN")
    with pytest.raises(DomainError) as exc:
        services.cancel_order(order_id=paid.pk, actor_type="customer", actor=customer)
    assert exc.value.code == "order_not_cancellable"
    assert Order.objects.get(pk=paid.pk).state == S.PAID


def test_staff_cancel_of_a_paid_order_restocks(staff):
    product = ProductFactory(stock=3, price=Decimal("1000.00"))
    order = place(UserFactory(), [(product, 2)]).order
    services.mark_paid(order_id=order.pk, amount=Decimal("2000.00"), currency="NGN")
    services.cancel_order(order_id=order.pk, actor_type="staff", actor=staff, reason="asked")
    assert stock_of(product) == 3
    services.refund_order(order_id=order.pk, amount=Decimal("2000.00"), actor=staff)
    order.refresh_from_db()
    assert (order.state, order.payment_status) == (S.CANCELLED, PaymentStatus.REFUNDED)
    assert [k for k, _, _ in events_of(order)] == ["placed", "paid", "cancelled", "refund_recorded"]


def test_expiry_cancels_overdue_unpaid_orders_only():
    product = ProductFactory(stock=5)
    overdue = place(UserFactory(), [(product, 1)]).order
    fresh = place(UserFactory(), [(product, 1)]).order
    cod = place(UserFactory(), [(product, 1)], payment_method="cod").order
    Order.objects.filter(pk=overdue.pk).update(expires_at=timezone.now() - timedelta(minutes=1))
    assert services.expire_overdue_orders() == 1
    assert services.expire_overdue_orders() == 0
    states = dict(Order.objects.values_list("pk", "state"))
    assert states == {
        overdue.pk: S.CANCELLED,
        fresh.pk: S.PENDING_PAYMENT,
        cod.pk: S.PENDING_PAYMENT,
    }
    assert set(InventoryLock.objects.values_list("owner", flat=True)) == {fresh.number, cod.number}
    assert events_of(overdue)[-1] == ("expired", S.PENDING_PAYMENT, S.CANCELLED)


def test_cash_on_delivery_flow(staff):
    product = ProductFactory(stock=4, price=Decimal("1500.00"))
    order = place(UserFactory(), [(product, 2)], payment_method="cod").order
    services.accept_cash_on_delivery(order_id=order.pk, actor=staff)
    assert stock_of(product) == 2
    assert InventoryLock.objects.count() == 0
    services.mark_ready_for_shipment(order_id=order.pk, actor=staff)
    services.mark_shipped(order_id=order.pk, tracking_number="GIG-1", carrier="GIG", actor=staff)
    services.mark_delivered(order_id=order.pk, actor=staff)
    services.record_cash_collected(order_id=order.pk, amount=Decimal("3000.00"), actor=staff)
    order.refresh_from_db()
    assert (order.state, order.payment_status, order.tracking_number) == (
        S.DELIVERED,
        PaymentStatus.PAID,
        "GIG-1",
    )


def test_refused_cod_delivery_cancels_and_restocks(staff):
    product = ProductFactory(stock=4)
    order = place(UserFactory(), [(product, 2)], payment_method="cod").order
    services.accept_cash_on_delivery(order_id=order.pk, actor=staff)
    services.mark_ready_for_shipment(order_id=order.pk, actor=staff)
    services.mark_shipped(order_id=order.pk, tracking_number="T", carrier="C", actor=staff)
    services.cancel_order(order_id=order.pk, actor_type="staff", actor=staff, reason="refused")
    order.refresh_from_db()
    assert order.state == S.CANCELLED
    assert stock_of(product) == 4


def test_partial_refund_with_restock_then_full_refund(staff):
    product = ProductFactory(stock=5, price=Decimal("1000.00"))
    placed = place(UserFactory(), [(product, 3)])
    order, item = placed.order, placed.items[0]
    services.mark_paid(order_id=order.pk, amount=Decimal("3000.00"), currency="NGN")
    services.refund_order(
        order_id=order.pk, amount=Decimal("1000.00"), restock={item.pk: 1}, actor=staff
    )
    order.refresh_from_db()
    assert (order.state, order.amount_refunded) == (S.PARTIALLY_REFUNDED, Decimal("1000.00"))
    assert stock_of(product) == 3
    with pytest.raises(DomainError) as exc:
        services.refund_order(order_id=order.pk, amount=Decimal("2000.01"), actor=staff)
    assert exc.value.code == "refund_invalid"
    with pytest.raises(DomainError) as exc:
        services.refund_order(
            order_id=order.pk, amount=Decimal("1.00"), restock={item.pk: 3}, actor=staff
        )
    assert exc.value.code == "refund_invalid"
    assert stock_of(product) == 3
    services.refund_order(order_id=order.pk, amount=Decimal("2000.00"), actor=staff)
    order.refresh_from_db()
    assert (order.state, order.payment_status) == (S.REFUNDED, PaymentStatus.REFUNDED)


def test_invalid_transition_names_the_allowed_next_states(staff):
    order = place(UserFactory(), [(ProductFactory(stock=5), 1)]).order
    with pytest.raises(DomainError) as exc:
        services.mark_shipped(order_id=order.pk, tracking_number="T", carrier="C", actor=staff)
    assert exc.value.code == "invalid_transition"
    assert exc.value.details == {
        "from": S.PENDING_PAYMENT,
        "to": S.SHIPPED,
        "allowed": [S.CANCELLED, S.PAID, S.PAYMENT_FAILED],
    }


def test_order_events_are_append_only_in_the_model_and_the_database():
    order = place(UserFactory(), [(ProductFactory(stock=5), 1)]).order
    event = OrderEvent.objects.get(order=order)
    event.reason = "rewritten"
    with pytest.raises(AppendOnlyError):
        event.save()
    with pytest.raises(AppendOnlyError):
        event.delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        OrderEvent.objects.filter(pk=event.pk).update(reason="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        OrderEvent.objects.filter(pk=event.pk)._raw_delete(using="default")
    assert OrderEvent.objects.get(pk=event.pk).reason == ""


@pytest.mark.django_db(transaction=True)  # checkout's own transaction, as in production
@pytest.mark.parametrize(
    ("change", "code"),
    [({"price": Decimal("1200.00")}, "price_changed"), ({"is_active": False}, "product_inactive")],
)
def test_product_changed_between_cart_read_and_lock_is_refused_and_rolled_back(
    change, code, monkeypatch
):
    """Prices are read before the lock and verified under it (the lock is taken last)."""
    from orders.checkout import CheckoutRequest, place_order, service
    from shop.models import CartItem
    from tests.factories import AddressFactory
    from tests.orders.helpers import fill_cart

    product = ProductFactory(stock=5, price=Decimal("1000.00"))
    customer = UserFactory()
    fill_cart(customer, [(product, 2)])
    address = AddressFactory(customer=customer)

    write = service.write

    def write_then_change_the_product(new, request):
        write(new, request)
        Product.objects.filter(pk=product.pk).update(**change)

    monkeypatch.setattr(service, "write", write_then_change_the_product)
    with pytest.raises(DomainError) as exc:
        place_order(CheckoutRequest(customer, "cod", address_id=address.pk))
    assert exc.value.code == code
    if code == "price_changed":
        assert exc.value.details["current_total"] == "2400.00"
        assert exc.value.details["expected_total"] == "2000.00"
    assert Order.objects.count() == 0
    assert InventoryLock.objects.count() == 0
    assert CartItem.objects.filter(cart__customer=customer).count() == 1
    assert Product.objects.get(pk=product.pk).price == Decimal("1000.00")


def test_hold_stock_until_extends_live_locks_and_retakes_expired_ones():
    product = ProductFactory(stock=3)
    order = place(UserFactory(), [(product, 2)]).order  # bank transfer: locks until expiry
    InventoryLock.objects.filter(owner=order.number).update(
        expires_at=timezone.now() + timedelta(minutes=5)
    )
    until = timezone.now() + timedelta(minutes=20)
    services.hold_stock_until(order_id=order.pk, until=until)
    assert InventoryLock.objects.get(owner=order.number).expires_at == until

    expire_locks(order)
    services.hold_stock_until(order_id=order.pk, until=until)
    assert list(InventoryLock.objects.values_list("quantity", "expires_at")) == [(2, until)]
    assert [k for k, _, _ in events_of(order)] == ["placed", "stock_held", "stock_held"]


def test_hold_stock_until_refuses_when_the_expired_units_were_sold():
    product = ProductFactory(stock=2)
    order = place(UserFactory(), [(product, 2)]).order
    expire_locks(order)
    place(UserFactory(), [(product, 2)])
    with pytest.raises(DomainError) as exc:
        services.hold_stock_until(order_id=order.pk, until=timezone.now() + timedelta(minutes=20))
    assert exc.value.code == "insufficient_stock"
    assert len(events_of(order)) == 1
    assert InventoryLock.objects.get(owner=order.number).expires_at < timezone.now()
