"""Two staff members refunding the same order at the same moment never refund more than paid."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from backoffice import services as staff
from core.errors import DomainError
from orders.models import Order
from tests.staff.conftest import paid_order

pytestmark = [
    pytest.mark.django_db(transaction=True),
    pytest.mark.usefixtures("database_route"),  # straight, then through PgBouncer
]


def refund_together(order_id: int, actors, amount: Decimal) -> list[str]:
    barrier = threading.Barrier(len(actors))
    outcomes: list[str] = []

    def refund(actor) -> None:
        try:
            barrier.wait(timeout=10)
            staff.refund(
                order_id=order_id,
                amount=amount,
                lines=None,
                restock=False,
                reason=f"refund by {actor.email}",
                actor=actor,
            )
            outcomes.append("refunded")
        except DomainError as error:
            outcomes.append(error.code)
        finally:
            connection.close()

    threads = [threading.Thread(target=refund, args=(actor,)) for actor in actors]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return sorted(outcomes)


def test_two_refunds_of_more_than_half_one_wins(buyer, stocked_product, finance_user, superuser):
    order = paid_order(buyer, stocked_product)  # 5000.00

    outcomes = refund_together(order.pk, [finance_user, superuser], Decimal("3000.00"))

    assert outcomes == ["refund_exceeds_refundable", "refunded"]
    order = Order.objects.get(pk=order.pk)
    assert (order.amount_refunded, order.state) == (Decimal("3000.00"), "partially_refunded")
    assert order.events.filter(kind="partially_refunded").count() == 1


def test_four_full_refunds_refund_once(buyer, stocked_product, finance_user, superuser):
    order = paid_order(buyer, stocked_product)
    actors = [finance_user, superuser, finance_user, superuser]

    outcomes = refund_together(order.pk, actors, Decimal("5000.00"))

    assert outcomes.count("refunded") == 1
    assert set(outcomes) - {"refunded"} <= {"refund_exceeds_refundable", "refund_not_allowed"}
    order = Order.objects.get(pk=order.pk)
    assert (order.amount_refunded, order.state) == (Decimal("5000.00"), "refunded")


def test_one_idempotency_key_sent_for_two_orders_at_once_refunds_one_order(
    buyer, stocked_product, finance_user
):
    orders = [paid_order(buyer, stocked_product), paid_order(buyer, stocked_product)]
    barrier = threading.Barrier(4)
    outcomes: list[str] = []

    def refund(order_id: int) -> None:
        try:
            barrier.wait(timeout=10)
            staff.refund(
                order_id=order_id,
                amount=Decimal("100.00"),
                lines=None,
                restock=False,
                reason="double-clicked form",
                actor=finance_user,
                idempotency_key="same-key",
            )
            outcomes.append("refunded")
        except DomainError as error:
            outcomes.append(error.code)
        except Exception as error:  # the bug this guards against: a database error, a 500
            outcomes.append(type(error).__name__)
        finally:
            connection.close()

    threads = [threading.Thread(target=refund, args=(o.pk,)) for o in orders * 2]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)

    # The same key for another order's refund is another request: refused like checkout's 422.
    assert sorted(outcomes) == [
        "idempotency_key_reused",
        "idempotency_key_reused",
        "refunded",
        "refunded",
    ]
    refunded = [Order.objects.get(pk=o.pk).amount_refunded for o in orders]
    assert sorted(refunded) == [Decimal("0.00"), Decimal("100.00")]
