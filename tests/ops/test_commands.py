"""The ops management commands: summaries, --dry-run, --json, refusals exit non-zero."""

import json
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from inventory.models import InventoryLock
from orders.models import IdempotencyKey, Order
from tests.factories import ProductFactory, UserFactory
from tests.ops import builders
from tests.orders.helpers import place

pytestmark = pytest.mark.django_db


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_cleanup_dry_run_counts_and_changes_nothing_then_cleanup_does_it():
    builders.expired_locks(4)
    [order] = builders.overdue_orders(1)
    builders.idempotency_keys(3, hours_ago=30)

    assert run("cleanup", "--dry-run") == (
        "1 overdue unpaid order(s) would be cancelled.\n"
        "4 expired stock lock(s) would be deleted.\n"
        "3 expired idempotency key(s) would be deleted.\n"
    )
    assert (InventoryLock.objects.count(), IdempotencyKey.objects.count()) == (5, 3)
    order.refresh_from_db()
    assert order.state == "pending_payment"

    assert run("cleanup") == (
        "1 overdue unpaid order(s) were cancelled.\n"
        "4 expired stock lock(s) were deleted.\n"
        "3 expired idempotency key(s) were deleted.\n"
    )
    order.refresh_from_db()
    assert order.state == "cancelled"
    assert (InventoryLock.objects.count(), IdempotencyKey.objects.count()) == (0, 0)


def test_archive_orders_older_than_archives_only_old_finished_orders():
    old = builders.finished_orders(3, days_ago=100)
    builders.finished_orders(2, days_ago=30)

    assert run("archive_orders", "--older-than", "90d", "--dry-run") == (
        "3 finished order(s) older than 90d would be archived.\n"
    )
    assert not Order.objects.filter(state="archived").exists()
    assert run("archive_orders", "--older-than", "90d") == (
        "3 finished order(s) older than 90d archived.\n"
    )
    assert set(Order.objects.filter(state="archived").values_list("pk", flat=True)) == {
        o.pk for o in old
    }
    assert run("archive_orders", "--older-than", "20d") == (
        "2 finished order(s) older than 20d archived.\n"
    )


def test_orders_that_need_attention_are_never_archived_automatically():
    from orders.tasks import archive_finished_orders

    delivered, cancelled, *plain = builders.finished_orders(4, days_ago=400)
    Order.objects.filter(pk=cancelled.pk).update(
        needs_attention=True, attention_reason="payment_for_closed_order"
    )
    Order.objects.filter(pk=delivered.pk).update(
        needs_attention=True, attention_reason="refund_failed"
    )

    assert run("archive_orders", "--older-than", "90d", "--dry-run") == (
        "2 finished order(s) older than 90d would be archived.\n"
    )
    assert archive_finished_orders() == 2  # the beat task, run here
    assert run("archive_orders", "--older-than", "1d") == (
        "0 finished order(s) older than 1d archived.\n"
    )
    states = dict(Order.objects.values_list("pk", "state"))
    assert {states[o.pk] for o in plain} == {"archived"}
    assert (states[delivered.pk], states[cancelled.pk]) == ("delivered", "cancelled")


def test_archive_orders_defaults_to_the_platform_setting(django_capture_on_commit_callbacks):
    from shop.platform_settings import set_setting

    builders.finished_orders(1, days_ago=40)
    with django_capture_on_commit_callbacks(execute=True):
        set_setting("ops.archive_after_days", 35)

    assert run("archive_orders") == "1 finished order(s) older than 35d archived.\n"


def test_a_malformed_duration_is_a_usage_error_and_changes_nothing():
    builders.finished_orders(1, days_ago=100)
    with pytest.raises(CommandError, match=r"e\.g\. 90d"):
        call_command("archive_orders", "--older-than", "ninety days")
    assert not Order.objects.filter(state="archived").exists()


def test_shop_report_json_gives_pending_orders_of_the_last_hour_and_locked_units():
    product = ProductFactory(sku="SKU-HOT", name="Hot serum", stock=50)
    other = ProductFactory(sku="SKU-COLD", name="Cold cream", stock=50)
    place(UserFactory(), [(product, 3)])
    place(UserFactory(), [(product, 2), (other, 1)])
    old = place(UserFactory(), [(other, 1)]).order
    Order.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(hours=2))
    builders.expired_locks(7, product=other)  # expired: not held

    report = json.loads(run("shop_report", "--json"))

    assert report["orders_pending_payment_last_hour"] == 2
    assert report["locked_units_per_product"] == [
        {"product_id": product.pk, "sku": "SKU-HOT", "name": "Hot serum", "locked_units": 5},
        {"product_id": other.pk, "sku": "SKU-COLD", "name": "Cold cream", "locked_units": 2},
    ]


def test_shop_report_text_names_each_figure():
    product = ProductFactory(sku="SKU-A", name="A cream", stock=5)
    place(UserFactory(), [(product, 2)])

    text = run("shop_report")

    assert "Orders pending payment created in the last hour: 1\n" in text
    assert "  SKU-A                 2  A cream\n" in text


@pytest.mark.parametrize(
    ("command", "changes"),
    [
        ("cleanup", "CHANGES: cancels unpaid orders past their expiry"),
        ("archive_orders", "CHANGES: moves delivered"),
        ("shop_report", "CHANGES NOTHING"),
    ],
)
def test_help_says_what_the_command_changes(command, changes):
    from django.core.management import get_commands, load_command_class

    help_text = load_command_class(get_commands()[command], command).help
    assert changes in help_text
