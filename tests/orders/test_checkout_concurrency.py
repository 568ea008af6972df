"""Real threads, each with its own PostgreSQL connection, checking out at the same instant."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connection

from inventory.models import InventoryLock
from inventory.selectors import get_available_stocks
from orders.models import Order
from shop.models import Product
from tests.conftest import client_for
from tests.factories import AddressFactory, ProductFactory, UserFactory
from tests.orders.helpers import fill_cart

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("database_route"),  # straight, then through PgBouncer
]


def run_at_once(calls):
    """Run the callables in parallel threads released together; returns their results."""
    barrier = threading.Barrier(len(calls))

    def run(call):
        try:
            barrier.wait(timeout=30)
            return call()
        finally:
            connection.close()

    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return list(pool.map(run, calls))


def ready_customer(lines):
    customer = UserFactory()
    address = AddressFactory(customer=customer)
    fill_cart(customer, lines)
    return client_for(customer), address


def checkout_call(client, address, key="k-1"):
    def call():
        response = client.post(
            "/api/checkout/",
            {"payment_method": "bank_transfer", "address_id": address.pk},
            format="json",
            HTTP_IDEMPOTENCY_KEY=key,
        )
        body = response.json()
        code = body["error"]["code"] if "error" in body else None
        return response.status_code, code, response.get("Idempotent-Replayed")

    return call


def test_fifty_customers_racing_for_the_last_ten_units_never_oversell():
    product = ProductFactory(stock=10)
    customers = [ready_customer([(product, 1)]) for _ in range(50)]

    results = run_at_once([checkout_call(client, address) for client, address in customers])

    assert Counter((status, code) for status, code, _ in results) == {
        (201, None): 10,
        (409, "insufficient_stock"): 40,
    }
    assert Order.objects.count() == 10
    assert sum(InventoryLock.objects.values_list("quantity", flat=True)) == 10
    assert Product.objects.get(pk=product.pk).stock == 10  # held, not yet sold
    assert get_available_stocks([product.pk]) == {product.pk: 0}


def test_multi_product_carts_in_opposite_orders_neither_deadlock_nor_oversell():
    first, second, third = (ProductFactory(stock=7) for _ in range(3))
    orderings = [
        [(first, 1), (second, 1), (third, 1)],
        [(third, 1), (second, 1), (first, 1)],
        [(second, 1), (third, 1), (first, 1)],
    ]
    customers = [ready_customer(orderings[i % 3]) for i in range(21)]

    results = run_at_once([checkout_call(client, address) for client, address in customers])

    assert Counter((status, code) for status, code, _ in results) == {
        (201, None): 7,
        (409, "insufficient_stock"): 14,
    }
    held = Counter()
    for product_id, quantity in InventoryLock.objects.values_list("product_id", "quantity"):
        held[product_id] += quantity
    assert held == {first.pk: 7, second.pk: 7, third.pk: 7}
    assert get_available_stocks([first.pk, second.pk, third.pk]) == {
        first.pk: 0,
        second.pk: 0,
        third.pk: 0,
    }


def test_same_idempotency_key_from_ten_threads_places_one_order():
    product = ProductFactory(stock=100)
    client, address = ready_customer([(product, 2)])

    results = run_at_once([checkout_call(client, address, key="same-key") for _ in range(10)])

    fresh = [r for r in results if r == (201, None, None)]
    assert len(fresh) == 1
    others = Counter(results) - Counter(fresh)
    assert set(others) <= {(201, None, "true"), (409, "request_in_progress", None)}
    assert sum(others.values()) == 9
    assert Order.objects.count() == 1
    assert list(InventoryLock.objects.values_list("quantity", flat=True)) == [2]


def test_payment_racing_expiry_ends_in_exactly_one_outcome_per_order():
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from core.errors import DomainError
    from orders import services
    from orders.models import OrderEvent
    from tests.orders.helpers import place

    product = ProductFactory(stock=20, price=Decimal("100.00"))
    orders = [place(UserFactory(), [(product, 1)]).order for _ in range(10)]
    Order.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    def pay(order):
        def call():
            try:
                services.mark_paid(order_id=order.pk, amount=Decimal("100.00"), currency="NGN")
            except DomainError as exc:
                return exc.code
            return "paid"

        return call

    def expire(order):
        def call():
            return "expired" if services.expire_order(order_id=order.pk) else "not_due"

        return call

    calls = [f(order) for order in orders for f in (pay, expire)]
    results = run_at_once(calls)

    for index, order in enumerate(orders):
        paid, expired = results[2 * index], results[2 * index + 1]
        assert (paid, expired) in {("paid", "not_due"), ("invalid_transition", "expired")}
        kinds = list(OrderEvent.objects.filter(order=order).values_list("kind", flat=True))
        assert kinds == ["placed", "paid" if paid == "paid" else "expired"]
    sold = Order.objects.filter(state="paid").count()
    assert Product.objects.get(pk=product.pk).stock == 20 - sold
    assert InventoryLock.objects.count() == 0


def test_expiry_sweep_racing_payments_never_both_wins_and_never_oversells():
    """The beat path: one sweep over many overdue orders while each is being paid. Whichever
    takes an order's row lock first wins; the other re-checks the state under the lock."""
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from core.errors import DomainError
    from orders import services
    from orders.models import OrderEvent
    from tests.orders.helpers import place

    product = ProductFactory(stock=12, price=Decimal("100.00"))
    orders = [place(UserFactory(), [(product, 1)]).order for _ in range(12)]
    Order.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    def pay(order):
        def call():
            try:
                services.mark_paid(order_id=order.pk, amount=Decimal("100.00"), currency="NGN")
            except DomainError as exc:
                return exc.code
            return "paid"

        return call

    results = run_at_once(
        [lambda: services.expire_overdue_orders(batch_size=4)] + [pay(o) for o in orders]
    )

    expired_count, payments = results[0], results[1:]
    # unary + drops zero counts: either side may have won every order
    assert Counter(payments) == +Counter(
        {"paid": 12 - expired_count, "invalid_transition": expired_count}
    )
    for order, outcome in zip(orders, payments, strict=True):
        order.refresh_from_db()
        kinds = list(OrderEvent.objects.filter(order=order).values_list("kind", flat=True))
        if outcome == "paid":
            assert (order.state, kinds) == ("paid", ["placed", "paid"])
        else:
            assert (order.state, kinds) == ("cancelled", ["placed", "expired"])
    assert Product.objects.get(pk=product.pk).stock == expired_count  # 12 minus those sold
    assert InventoryLock.objects.count() == 0


def test_gateway_payment_racing_expiry_pays_or_lands_late_and_is_flagged():
    """Through the payments path (apply_gateway_event): a charge that loses the race to the
    expiry finds a cancelled order and follows the late-payment rule: the payment is recorded
    as succeeded, the order stays cancelled and is flagged for a refund, never paid."""
    from datetime import timedelta
    from decimal import Decimal

    from django.utils import timezone

    from orders import services
    from orders.models import OrderEvent
    from payments.models import Payment
    from payments.providers import GatewayEvent
    from payments.services import apply_gateway_event
    from tests.orders.helpers import place

    product = ProductFactory(stock=10, price=Decimal("100.00"))
    orders = [
        place(UserFactory(), [(product, 1)], payment_method="paystack").order for _ in range(8)
    ]
    payments = [
        Payment.objects.create(
            order=order,
            gateway="paystack",
            reference=f"{order.number}-1-race",
            attempt=1,
            amount=order.total,
            currency="NGN",
            status="pending",
        )
        for order in orders
    ]
    Order.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    def charge(payment):
        event = GatewayEvent(
            gateway="paystack", kind="charge_succeeded", event_type="charge.success",
            event_key=f"charge:{payment.reference}", reference=payment.reference,
            amount=Decimal("100.00"), currency="NGN", occurred_at=timezone.now(),
        )  # fmt: skip
        return lambda: apply_gateway_event(event=event)

    def expire(order):
        return lambda: "expired" if services.expire_order(order_id=order.pk) else "not_due"

    calls = []
    for payment, order in zip(payments, orders, strict=True):
        calls += [charge(payment), expire(order)]
    results = run_at_once(calls)

    for index, (order, payment) in enumerate(zip(orders, payments, strict=True)):
        outcome = (results[2 * index], results[2 * index + 1])
        assert outcome in {("paid", "not_due"), ("paid_but_order_not_payable", "expired")}
        order.refresh_from_db()
        payment.refresh_from_db()
        kinds = list(OrderEvent.objects.filter(order=order).values_list("kind", flat=True))
        assert payment.status == "succeeded"
        if outcome[0] == "paid":
            assert (order.state, order.needs_attention, kinds) == (
                "paid",
                False,
                ["placed", "paid"],
            )
        else:
            assert (order.state, order.needs_attention, order.attention_reason, kinds) == (
                "cancelled", True, "payment_for_closed_order", ["placed", "expired", "flagged"],
            )  # fmt: skip
    sold = Order.objects.filter(state="paid").count()
    assert Product.objects.get(pk=product.pk).stock == 10 - sold
    assert InventoryLock.objects.count() == 0


def _in_another_transaction(statement, params, *, until: threading.Event, started):
    """Run ``statement`` on a connection of its own and keep its transaction open until."""

    def run():
        from django.db import transaction

        try:
            with transaction.atomic(), connection.cursor() as cursor:
                cursor.execute(statement, params)
                started.set()
                until.wait(timeout=30)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def test_a_key_held_by_a_running_request_answers_in_progress_and_writes_nothing():
    from orders.idempotency import CHECKOUT

    product = ProductFactory(stock=5)
    client, address = ready_customer([(product, 1)])
    release, started = threading.Event(), threading.Event()
    holder = _in_another_transaction(
        "SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))",
        [f"{address.customer_id}:{CHECKOUT}:k-1"],
        until=release,
        started=started,
    )
    try:
        assert started.wait(timeout=30)
        assert checkout_call(client, address)() == (409, "request_in_progress", None)
    finally:
        release.set()
        holder.join(timeout=30)
    assert Order.objects.count() == 0
    assert InventoryLock.objects.count() == 0
    assert checkout_call(client, address)() == (201, None, None)  # free once it ends


def test_a_key_committed_by_another_request_is_replayed_and_this_one_writes_nothing():
    from orders.checkout import CheckoutRequest
    from orders.checkout_requests import place_order_once
    from orders.models import IdempotencyKey
    from shop.models import CartItem

    product = ProductFactory(stock=5)
    _client, address = ready_customer([(product, 1)])
    # Another request with the key finished on a connection of its own just before this one.
    IdempotencyKey.objects.create(
        customer_id=address.customer_id, key="k-1", fingerprint="f",
        status="completed", response_status=201, response_body={"from": "other"},
    )  # fmt: skip

    answer = place_order_once(
        CheckoutRequest(address.customer, "bank_transfer", address_id=address.pk),
        key="k-1",
        fingerprint="f",
        render=lambda placed: {"from": "this"},
    )

    assert (answer.status, answer.body, answer.replayed) == (201, {"from": "other"}, True)
    assert Order.objects.count() == 0
    assert InventoryLock.objects.count() == 0
    assert CartItem.objects.filter(cart__customer_id=address.customer_id).count() == 1
