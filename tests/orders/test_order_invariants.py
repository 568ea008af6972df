"""Random sequences of customer, gateway, staff and clock operations keep the invariants:
stock never negative, stock + sold constant, the stock ledger adds up to the stock, locks only
for unpaid orders, holds never exceed stock, no customer over the unpaid-order cap, and exactly
one event per successful operation."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db.models import Sum
from django.utils import timezone
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    rule,
    run_state_machine_as_test,
)

from core.errors import DomainError
from inventory import services as inventory
from inventory.models import InventoryLock, StockHold, StockMovement
from orders import services
from orders.models import Order, OrderEvent, OrderItem
from orders.states import UNPAID_STATES, OrderState
from shop.models import Product
from shop.platform_settings import get_setting
from tests.factories import ProductFactory, StaffFactory, UserFactory
from tests.orders.helpers import place

S = OrderState


class OrderLifecycle(RuleBasedStateMachine):
    @initialize(stocks=st.lists(st.integers(0, 6), min_size=3, max_size=3))
    def create_shop(self, stocks):
        self.products = [ProductFactory.create(stock=s, price=Decimal("100.00")) for s in stocks]
        self.initial = {p.pk: s for p, s in zip(self.products, stocks, strict=True)}
        self.customers = [UserFactory.create() for _ in range(2)]
        self.staff = StaffFactory.create()
        self.orders: list[int] = []
        self.expected_events: dict[int, int] = {}

    def _run(self, order_index: int, call) -> None:
        if not self.orders:
            return
        order_id = self.orders[order_index % len(self.orders)]
        try:
            call(order_id)
        except DomainError:
            return
        self.expected_events[order_id] += 1

    @rule(
        customer=st.integers(0, 1),
        lines=st.lists(st.tuples(st.integers(0, 2), st.integers(1, 3)), min_size=1, max_size=3),
        method=st.sampled_from(["bank_transfer", "cod"]),
    )
    def checkout(self, customer, lines, method):
        try:
            placed = place(
                self.customers[customer],
                _merge([(self.products[i], q) for i, q in lines]),
                payment_method=method,
            )
        except DomainError as exc:
            if exc.code == "too_many_unpaid_orders":
                assert self._unpaid_orders(customer) >= self._unpaid_limit()
                return
            if exc.code != "insufficient_stock":
                raise
            return
        self.orders.append(placed.order.pk)
        self.expected_events[placed.order.pk] = 1

    @rule(i=st.integers(0, 50))
    def pay(self, i):
        def call(order_id):
            order = Order.objects.get(pk=order_id)
            services.mark_paid(order_id=order_id, amount=order.total, currency=order.currency)

        self._run(i, call)

    @rule(i=st.integers(0, 50))
    def fail_payment(self, i):
        self._run(i, lambda oid: services.mark_payment_failed(order_id=oid))

    @rule(i=st.integers(0, 50))
    def retry_payment(self, i):
        self._run(i, lambda oid: services.retry_payment(order_id=oid))

    @rule(i=st.integers(0, 50), as_staff=st.booleans())
    def cancel(self, i, as_staff):
        actor_type = "staff" if as_staff else "customer"
        self._run(i, lambda oid: services.cancel_order(order_id=oid, actor_type=actor_type))

    @rule(i=st.integers(0, 50))
    def accept_cod(self, i):
        self._run(i, lambda oid: services.accept_cash_on_delivery(order_id=oid, actor=self.staff))

    @rule(i=st.integers(0, 50))
    def fulfil(self, i):
        steps = {
            S.PAID: services.start_processing,
            S.PROCESSING: services.mark_ready_for_shipment,
            S.SHIPPED: services.mark_delivered,
        }

        def call(order_id):
            state = Order.objects.get(pk=order_id).state
            if state == S.READY_FOR_SHIPMENT:
                services.mark_shipped(
                    order_id=order_id, tracking_number="T", carrier="C", actor=self.staff
                )
            elif state in steps:
                steps[state](order_id=order_id, actor=self.staff)
            else:
                services.archive_order(order_id=order_id, actor=self.staff)

        self._run(i, call)

    @rule(i=st.integers(0, 50), restock=st.booleans())
    def refund_everything(self, i, restock):
        def call(order_id):
            order = Order.objects.get(pk=order_id)
            items = {}
            if restock and order.stock_deducted:
                items = {
                    item.pk: item.quantity - item.quantity_restocked for item in order.items.all()
                }
            services.refund_order(
                order_id=order_id, amount=order.total - order.amount_refunded, restock=items
            )

        self._run(i, call)

    @rule(i=st.integers(0, 50))
    def locks_expire(self, i):
        if self.orders:
            number = Order.objects.get(pk=self.orders[i % len(self.orders)]).number
            InventoryLock.objects.filter(owner=number, expires_at__isnull=False).update(
                expires_at=timezone.now() - timedelta(seconds=1)
            )

    @rule()
    def sweep(self):
        inventory.sweep_expired()

    @invariant()
    def stock_is_never_negative_and_stock_plus_sold_is_constant(self):
        if not hasattr(self, "products"):
            return
        stock = dict(Product.objects.filter(pk__in=self.initial).values_list("pk", "stock"))
        assert all(v >= 0 for v in stock.values())
        sold = {pk: 0 for pk in self.initial}
        for product_id, quantity, restocked in OrderItem.objects.filter(
            order_id__in=self.orders, order__stock_deducted=True
        ).values_list("product_id", "quantity", "quantity_restocked"):
            sold[product_id] += quantity - restocked
        assert {pk: stock[pk] + sold[pk] for pk in stock} == self.initial

    def _unpaid_orders(self, customer: int) -> int:
        unpaid: int = Order.objects.filter(
            customer=self.customers[customer], state__in=UNPAID_STATES
        ).count()
        return unpaid

    def _unpaid_limit(self) -> int:
        limit: int = get_setting("checkout.max_unpaid_orders_per_customer")
        return limit

    @invariant()
    def no_customer_over_the_unpaid_order_cap(self):
        if not hasattr(self, "products"):
            return
        for customer in range(len(self.customers)):
            assert self._unpaid_orders(customer) <= self._unpaid_limit()

    @invariant()
    def the_stock_ledger_adds_up_to_the_stock(self):
        if not hasattr(self, "products"):
            return
        moved = {pk: 0 for pk in self.initial}
        for product_id, delta in StockMovement.objects.filter(
            product_id__in=self.initial
        ).values_list("product_id", "delta"):
            moved[product_id] += delta
        stock = dict(Product.objects.filter(pk__in=self.initial).values_list("pk", "stock"))
        assert {pk: self.initial[pk] + moved[pk] for pk in stock} == stock

    @invariant()
    def locks_belong_to_unpaid_orders_and_never_exceed_stock(self):
        if not hasattr(self, "products"):
            return
        owners = set(
            InventoryLock.objects.filter(product_id__in=self.initial).values_list(
                "owner", flat=True
            )
        )
        unpaid = set(
            Order.objects.filter(pk__in=self.orders, state=S.PENDING_PAYMENT).values_list(
                "number", flat=True
            )
        )
        assert owners <= unpaid
        now = timezone.now()
        bounds = dict(
            StockHold.objects.filter(product_id__in=self.initial).values_list(
                "product_id", "quantity"
            )
        )
        for product in Product.objects.filter(pk__in=self.initial):
            all_held = (
                InventoryLock.objects.filter(product=product).aggregate(t=Sum("quantity"))["t"] or 0
            )
            assert bounds.get(product.pk, 0) >= all_held  # the fast check's premise
            held = (
                InventoryLock.objects.filter(product=product)
                .exclude(expires_at__lte=now)
                .aggregate(total=Sum("quantity"))["total"]
                or 0
            )
            assert held <= product.stock

    @invariant()
    def one_event_per_operation(self):
        if not hasattr(self, "products"):
            return
        counts = {order_id: 0 for order_id in self.orders}
        for order_id in OrderEvent.objects.filter(order_id__in=self.orders).values_list(
            "order_id", flat=True
        ):
            counts[order_id] += 1
        assert counts == self.expected_events


def _merge(lines):
    merged = {}
    for product, quantity in lines:
        merged[product] = merged.get(product, 0) + quantity
    return list(merged.items())


@pytest.mark.django_db
def test_random_operation_sequences_keep_the_invariants():
    run_state_machine_as_test(
        OrderLifecycle,
        settings=settings(
            max_examples=40,
            stateful_step_count=25,
            deadline=None,
            suppress_health_check=[HealthCheck.too_slow],
        ),
    )
