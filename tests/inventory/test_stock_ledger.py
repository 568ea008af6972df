"""The stock ledger: every change of a product's stock is one row, written with the change."""

from decimal import Decimal

import pytest
from django.db import DatabaseError, transaction

from backoffice import services as staff_services
from inventory import services as inventory
from inventory.adjustments import adjust_stock, create_product
from inventory.errors import (
    StockAdjustmentInvalid,
    StockChanged,
    StockNegative,
    StockReasonRequired,
)
from inventory.models import MovementKind, StockMovement, StockMovementAppendOnly
from orders.services import cancel_order, mark_paid
from orders.states import ActorType
from shop.models import Product
from tests.factories import ProductFactory, StaffFactory, UserFactory
from tests.orders.helpers import place

pytestmark = pytest.mark.django_db


def ledger(product) -> list[tuple[str, int, int, str]]:
    """The product's movements, oldest first: (kind, delta, stock_after, order_number)."""
    return list(
        StockMovement.objects.filter(product=product)
        .order_by("id")
        .values_list("kind", "delta", "stock_after", "order_number")
    )


def stock_of(product) -> int:
    return Product.objects.get(pk=product.pk).stock


def test_a_new_product_opens_its_ledger_with_its_initial_stock():
    staff = StaffFactory.create()
    product = create_product(
        product=Product(sku="NEW-1", name="New", price=Decimal("100.00"), stock=12),
        actor=staff,
        reason="First delivery",
    )
    movement = StockMovement.objects.get(product=product)
    assert (movement.kind, movement.delta, movement.stock_after) == ("initial", 12, 12)
    assert (movement.actor, movement.reason) == (staff, "First delivery")
    empty = create_product(product=Product(sku="NEW-0", name="Empty", price=Decimal("1.00")))
    assert ledger(empty) == []  # no stock, nothing moved


def test_a_payment_records_the_sale_of_each_product_with_the_order_number():
    serum, soap = ProductFactory.create(stock=10), ProductFactory.create(stock=4)
    order = place(UserFactory.create(), [(serum, 3), (soap, 1)]).order

    mark_paid(order_id=order.pk, amount=order.total, currency=order.currency)

    assert ledger(serum) == [("sale", -3, 7, order.number)]
    assert ledger(soap) == [("sale", -1, 3, order.number)]
    assert (stock_of(serum), stock_of(soap)) == (7, 3)


def test_accepting_a_cod_order_records_the_sale_with_the_staff_member():
    product, staff = ProductFactory.create(stock=5), StaffFactory.create(is_superuser=True)
    order = place(UserFactory.create(), [(product, 2)], payment_method="cod").order

    staff_services.accept_cod_order(order_id=order.pk, actor=staff, reason="Phoned the buyer")

    movement = StockMovement.objects.get(product=product)
    assert (movement.kind, movement.delta, movement.stock_after) == ("sale", -2, 3)
    assert (movement.order_number, movement.actor) == (order.number, staff)


def test_cancelling_a_paid_order_records_a_cancel_restock():
    product, staff = ProductFactory.create(stock=10), StaffFactory.create()
    order = place(UserFactory.create(), [(product, 4)]).order
    mark_paid(order_id=order.pk, amount=order.total, currency=order.currency)

    cancel_order(order_id=order.pk, actor_type=ActorType.STAFF, actor=staff, reason="Out of area")

    assert ledger(product) == [
        ("sale", -4, 6, order.number),
        ("restock_cancel", 4, 10, order.number),
    ]
    restock = StockMovement.objects.get(product=product, kind=MovementKind.RESTOCK_CANCEL)
    assert (restock.actor, restock.reason) == (staff, "Out of area")


def test_a_refund_with_restock_records_a_refund_restock():
    product, staff = ProductFactory.create(stock=10), StaffFactory.create(is_superuser=True)
    order = place(UserFactory.create(), [(product, 3)]).order
    mark_paid(order_id=order.pk, amount=order.total, currency=order.currency)

    staff_services.refund(
        order_id=order.pk,
        amount=None,
        lines={product.pk: 2},
        restock=True,
        reason="Two jars broken in transit",
        actor=staff,
    )

    assert ledger(product)[-1] == ("restock_refund", 2, 9, order.number)
    first_movement = StockMovement.objects.filter(product=product).first()
    assert first_movement is not None
    assert first_movement.actor == staff
    assert stock_of(product) == 9


def test_unpaid_orders_move_no_stock_and_write_no_ledger_row():
    product = ProductFactory.create(stock=10)
    order = place(UserFactory.create(), [(product, 2)]).order
    cancel_order(order_id=order.pk, actor_type=ActorType.CUSTOMER, actor=order.customer)
    assert ledger(product) == []  # locks were released; the stock itself never changed


def test_adjustments_add_remove_and_set_are_recorded_with_who_and_why():
    product, staff = ProductFactory.create(stock=10), StaffFactory.create()

    adjust_stock(product_id=product.pk, delta=5, reason="Delivery 4411", actor=staff)
    adjust_stock(product_id=product.pk, delta=-2, reason="Two jars broken", actor=staff)
    adjust_stock(
        product_id=product.pk, set_to=11, expected_stock=13, reason="Stock take", actor=staff
    )

    assert ledger(product) == [
        ("adjustment", 5, 15, ""),
        ("adjustment", -2, 13, ""),
        ("adjustment", -2, 11, ""),
    ]
    assert stock_of(product) == 11
    assert set(StockMovement.objects.values_list("actor", "reason")) == {
        (staff.pk, "Delivery 4411"),
        (staff.pk, "Two jars broken"),
        (staff.pk, "Stock take"),
    }


def test_setting_over_a_stock_that_moved_is_refused_with_the_current_figure():
    product = ProductFactory.create(stock=10)
    order = place(UserFactory.create(), [(product, 3)]).order
    mark_paid(order_id=order.pk, amount=order.total, currency=order.currency)  # 10 → 7

    with pytest.raises(StockChanged) as refused:
        adjust_stock(product_id=product.pk, set_to=10, expected_stock=10, reason="Count")

    assert refused.value.http_status == 409
    assert refused.value.code == "stock_changed"
    assert refused.value.details == {"current_stock": 7, "expected_stock": 10}
    assert stock_of(product) == 7
    assert [kind for kind, *_ in ledger(product)] == ["sale"]


def test_setting_the_stock_it_already_has_records_nothing():
    product = ProductFactory.create(stock=10)
    assert adjust_stock(product_id=product.pk, set_to=10, expected_stock=10, reason="Count") is None
    assert ledger(product) == []


def test_an_adjustment_below_zero_is_refused_and_changes_nothing():
    product = ProductFactory.create(stock=2)
    with pytest.raises(StockNegative) as refused:
        adjust_stock(product_id=product.pk, delta=-3, reason="Broken")
    assert (refused.value.http_status, refused.value.code) == (409, "stock_negative")
    assert refused.value.details == {"current_stock": 2, "delta": -3}
    assert (stock_of(product), ledger(product)) == (2, [])


@pytest.mark.parametrize(
    "arguments",
    [
        {},
        {"delta": 0},
        {"delta": 2, "set_to": 3, "expected_stock": 1},
        {"delta": True},
        {"delta": 2, "expected_stock": 5},
        {"set_to": 3},
        {"set_to": -1, "expected_stock": 5},
        {"set_to": 2**31, "expected_stock": 5},
    ],
)
def test_adjustments_that_do_not_say_one_clear_change_are_refused(arguments):
    product = ProductFactory.create(stock=5)
    with pytest.raises(StockAdjustmentInvalid) as refused:
        adjust_stock(product_id=product.pk, reason="Count", **arguments)
    assert refused.value.http_status == 400
    assert (stock_of(product), ledger(product)) == (5, [])


def test_an_adjustment_needs_a_reason():
    product = ProductFactory.create(stock=5)
    with pytest.raises(StockReasonRequired):
        adjust_stock(product_id=product.pk, delta=1, reason="   ")
    assert ledger(product) == []


def test_an_adjustment_past_the_largest_stock_is_refused():
    product = ProductFactory.create(stock=5)
    with pytest.raises(StockAdjustmentInvalid):
        adjust_stock(product_id=product.pk, delta=2**31 - 5, reason="Typo")
    assert stock_of(product) == 5


def test_restore_and_commit_called_alone_keep_their_defaults():
    product = ProductFactory.create(stock=5)
    inventory.restore(lines={product.pk: 2})
    inventory.reserve(lines={product.pk: 1}, owner="ORD-X")
    inventory.commit(owner="ORD-X", lines={product.pk: 1})
    assert ledger(product) == [("restock_refund", 2, 7, ""), ("sale", -1, 6, "ORD-X")]


def test_the_ledger_is_append_only_in_the_model_and_the_database():
    product = ProductFactory.create(stock=5)
    movement = adjust_stock(product_id=product.pk, delta=1, reason="Found one")
    assert movement is not None
    movement.reason = "rewritten"
    with pytest.raises(StockMovementAppendOnly):
        movement.save()
    with pytest.raises(StockMovementAppendOnly):
        movement.delete()
    with pytest.raises(DatabaseError), transaction.atomic():
        StockMovement.objects.filter(pk=movement.pk).update(reason="rewritten")
    with pytest.raises(DatabaseError), transaction.atomic():
        StockMovement.objects.filter(pk=movement.pk)._raw_delete(using="default")
    assert StockMovement.objects.get(pk=movement.pk).reason == "Found one"


def test_the_database_refuses_a_zero_delta_and_an_unknown_kind():
    product = ProductFactory.create(stock=5)
    for bad in ({"delta": 0, "kind": "adjustment"}, {"delta": 1, "kind": "magic"}):
        with pytest.raises(DatabaseError), transaction.atomic():
            StockMovement.objects.bulk_create(
                [StockMovement(product=product, stock_after=5, reason="x", **bad)]
            )
    assert ledger(product) == []
