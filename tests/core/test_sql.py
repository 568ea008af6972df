"""core.sql and the PostgreSQL backend behind it: named reads, INSERTs with what bulk_create
would have stored, writes held by write_batch and sent with the next read."""

from contextlib import nullcontext
from datetime import UTC, timedelta
from typing import Any

import pytest
from django.db import DataError, IntegrityError, connection, models, transaction
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from core import sql
from inventory.models import InventoryLock
from notifications.models import Notification
from shop.models import Product
from tests.factories import ProductFactory


def _notification(key: str) -> Notification:
    return Notification(
        channel=Notification.Channel.EMAIL,
        recipient="ada@example.com",
        template="order_placed",
        context={"order_number": "ORD-1", "total": "1500.00"},
        dedup_key=key,
    )


@pytest.mark.django_db
def test_insert_stores_defaults_and_auto_now_add_and_sets_ids_in_order():
    before = timezone.now()
    rows = [_notification("a"), _notification("b"), _notification("c")]

    sql.insert(rows)

    stored = {n.pk: n for n in Notification.objects.all()}
    assert [stored[row.pk].dedup_key for row in rows] == ["a", "b", "c"]
    for row in rows:
        fresh = stored[row.pk]
        assert not row._state.adding
        assert (fresh.status, fresh.attempts, fresh.context["total"]) == ("queued", 0, "1500.00")
        assert fresh.max_attempts >= 1
        assert before <= fresh.created_at <= timezone.now()
        assert fresh.next_attempt_at - before < timedelta(seconds=5)


@pytest.mark.django_db
def test_insert_ignoring_conflicts_skips_the_duplicate_and_keeps_the_rest():
    sql.insert([_notification("dup")])
    first = Notification.objects.get(dedup_key="dup")

    sql.insert([_notification("dup"), _notification("new")], ignore_conflicts=True)

    assert sorted(Notification.objects.values_list("dedup_key", flat=True)) == ["dup", "new"]
    assert Notification.objects.get(dedup_key="dup").pk == first.pk


@pytest.mark.django_db
def test_insert_without_ignoring_conflicts_raises_and_writes_nothing():
    sql.insert([_notification("taken")])
    with pytest.raises(IntegrityError), transaction.atomic():
        sql.insert([_notification("other"), _notification("taken")])
    assert list(Notification.objects.values_list("dedup_key", flat=True)) == ["taken"]


@pytest.mark.django_db
def test_a_database_constraint_still_refuses_a_bad_row():
    product = ProductFactory.create(stock=3)
    with pytest.raises(IntegrityError), transaction.atomic():
        sql.insert([InventoryLock(product_id=product.pk, owner="ORD-X", quantity=0)])
    assert not InventoryLock.objects.exists()
    assert Product.objects.get(pk=product.pk).stock == 3


def _one(statement: str) -> Any:
    found = sql.record(statement)
    assert found is not None
    return found


def _held_notification(key: str) -> Notification:
    new_id = _one(f"SELECT {sql.next_id_sql(Notification)} AS id").id
    row = _notification(key)
    row.pk = new_id
    return row


@pytest.mark.django_db
def test_combined_writes_reach_postgresql_as_one_statement():
    sql.insert([_notification("old"), _notification("b")])
    rows = [_held_notification("a"), _held_notification("c")]
    touched: list[int] = []
    table, key = sql.table(Notification), sql.column(Notification, "dedup_key")
    with CaptureQueriesContext(connection) as captured, sql.write_batch():
        sql.insert(rows[:1])
        sql.insert(rows[1:])
        sql.execute(f"DELETE FROM {table} WHERE {key} = %s", ["old"], deferrable=True)  # noqa: S608
        sql.execute(
            f"UPDATE {table} SET {key} = %s WHERE {key} = %s",  # noqa: S608
            ["b2", "b"],
            deferrable=True,
            check=touched.append,
        )
        assert touched == []  # held: nothing sent yet
    statements = [q["sql"] for q in captured.captured_queries]
    writes = [s for s in statements if "SAVEPOINT" not in s]
    assert len(writes) == 1, writes
    assert touched == [1]
    assert sorted(Notification.objects.values_list("dedup_key", flat=True)) == ["a", "b2", "c"]
    assert Notification.objects.get(dedup_key="a").pk == rows[0].pk


@pytest.mark.django_db
def test_a_read_inside_the_block_first_sends_what_was_held():
    with transaction.atomic(), sql.write_batch():
        sql.insert([_held_notification("seen")])
        table, key = sql.table(Notification), sql.column(Notification, "dedup_key")
        assert [r.key for r in sql.records(f"SELECT {key} AS key FROM {table}")] == ["seen"]  # noqa: S608


@pytest.mark.django_db
def test_a_failing_check_or_write_fails_the_block_and_the_transaction_keeps_nothing():
    def must_touch_one(count: int) -> None:
        if count != 1:
            raise LookupError(count)

    table, key = sql.table(Notification), sql.column(Notification, "dedup_key")

    def write_then_miss() -> None:
        with transaction.atomic(), sql.write_batch():
            sql.insert([_held_notification("x")])
            sql.execute(
                f"UPDATE {table} SET {key} = %s WHERE {key} = %s",  # noqa: S608
                ["y", "absent"],
                deferrable=True,
                check=must_touch_one,
            )

    with pytest.raises(LookupError):
        write_then_miss()
    assert not Notification.objects.exists()

    sql.insert([_notification("taken")])
    with pytest.raises(IntegrityError), transaction.atomic(), sql.write_batch():
        sql.insert([_held_notification("fine"), _held_notification("taken")])
    assert list(Notification.objects.values_list("dedup_key", flat=True)) == ["taken"]


@pytest.mark.django_db
def test_combined_writes_bigger_than_psycopgs_statement_cache_store_every_value():
    # Over 4 kB and 50 parameters: psycopg converts its placeholders on every execution.
    rows = [_held_notification(f"n{i}") for i in range(8)]
    sent: list[str] = []

    def record(execute, statement, params, many, context):
        sent.append(statement)
        return execute(statement, params, many, context)

    with connection.execute_wrapper(record), transaction.atomic(), sql.write_batch():
        sql.insert(rows)
    (combined,) = [s for s in sent if s.startswith("WITH")]
    assert combined.count("%s") == len(rows) * len(Notification._meta.concrete_fields)
    stored = dict(Notification.objects.values_list("pk", "dedup_key"))
    assert stored == {row.pk: row.dedup_key for row in rows}


def test_timestamps_read_from_sqlite_come_back_aware_in_utc():
    aware = timezone.now()
    naive_utc = aware.astimezone(UTC).replace(tzinfo=None)
    assert sql.datetime_from_db(aware) is aware
    assert sql.datetime_from_db(naive_utc) == aware
    assert sql.datetime_from_db(naive_utc.isoformat(sep=" ")) == aware
    assert sql.datetime_from_db(None) is None


@pytest.mark.django_db(transaction=True)
def test_statements_follow_a_reconnect_and_survive_a_failed_statement():
    assert _one("SELECT 1 AS n").n == 1
    connection.close()  # as Django does at CONN_MAX_AGE: the next statement reconnects
    assert _one("SELECT 2 AS n").n == 2
    with pytest.raises(DataError):
        sql.records("SELECT 1 / 0 AS n")
    assert _one("SELECT 3 AS n").n == 3


# --- the hand-written INSERT stores what bulk_create stores ------------------------------------
def _order(number: str, customer):
    from orders.models import Order

    return Order(
        number=number, customer=customer, payment_method="cod", currency="NGN",
        subtotal="100.00", total="100.00", shipping_address={"city": "Lagos"},
    )  # fmt: skip


def _rows_for(model_name: str):
    """Two unsaved rows of the model, alike but for their unique values."""
    from orders.models import OrderAdjustment, OrderEvent, OrderItem
    from tests.factories import UserFactory

    if model_name == "Notification":
        return _notification("one"), _notification("two")
    if model_name == "InventoryLock":
        product = ProductFactory.create(stock=9)
        return (InventoryLock(product=product, owner="A", quantity=2),
                InventoryLock(product=product, owner="B", quantity=2))  # fmt: skip
    customer = UserFactory.create()
    order = _order("ORD-EQUAL-1", customer)
    if model_name == "Order":
        return order, _order("ORD-EQUAL-2", customer)
    order.save()
    if model_name == "OrderItem":
        item = {"order": order, "sku": "S", "name": "N", "unit_price": "5.00", "quantity": 2,
                "line_total": "10.00"}  # fmt: skip
        return OrderItem(**item), OrderItem(**item)
    if model_name == "OrderEvent":
        event = {"order": order, "kind": "placed", "to_state": "pending_payment",
                 "actor_type": "system", "payload": {"total": "100.00"}}  # fmt: skip
        return OrderEvent(**event), OrderEvent(**event)
    adjustment = {"order": order, "kind": "shipping", "label": "Lagos", "amount": "5.00"}
    return OrderAdjustment(**adjustment), OrderAdjustment(**adjustment)


@pytest.mark.django_db
@pytest.mark.parametrize(
    "model_name",
    ["Notification", "InventoryLock", "Order", "OrderItem", "OrderEvent", "OrderAdjustment"],
)
def test_insert_stores_what_bulk_create_stores(model_name):
    mine, django = _rows_for(model_name)
    model = type(mine)

    sql.insert([mine])
    model.objects.bulk_create([django])

    def stored(row):
        values = model.objects.filter(pk=row.pk).values().get()
        unique = {"id", "dedup_key", "owner", "number"}
        timestamps = {f.attname for f in model._meta.concrete_fields
                      if isinstance(f, models.DateTimeField) and values[f.attname]}  # fmt: skip
        for name in timestamps:  # set at save time: both now, to the second
            assert abs(values[name] - timezone.now()) < timedelta(seconds=30)
        return {k: v for k, v in values.items() if k not in unique | timestamps}

    assert stored(mine) == stored(django)


def test_insert_refuses_a_field_the_database_fills(monkeypatch):
    field = Notification._meta.get_field("status")
    monkeypatch.setattr(field, "db_default", models.Value("queued"))
    with pytest.raises(TypeError, match="bulk_create"):
        sql.insertable_fields(Notification, with_pk=False)


# --- the backend -------------------------------------------------------------------------------
@pytest.mark.django_db
def test_reads_come_back_as_records_named_by_their_columns():
    ProductFactory.create(sku="SKU-R1", stock=4)
    product, stock = sql.column(Product, "sku"), sql.column(Product, "stock")
    [row] = sql.records(
        f"SELECT {product} AS sku, {stock} * 2 AS doubled FROM {sql.table(Product)}"  # noqa: S608
    )
    assert (row.sku, row.doubled) == ("SKU-R1", 8)


def test_postgresql_runs_through_the_project_backend():
    from django.db import connections

    from core.db.backends.postgresql.base import DatabaseWrapper

    assert isinstance(connections["default"], DatabaseWrapper)


@pytest.mark.django_db
def test_held_writes_take_the_same_path_with_query_logging_on_and_off():
    def combined_writes_sent(*, logged: bool) -> list[str]:
        rows = [_held_notification(f"{logged}-a"), _held_notification(f"{logged}-b")]
        sent: list[str] = []

        def record(execute, statement, params, many, context):
            sent.append(statement)
            return execute(statement, params, many, context)

        logging = CaptureQueriesContext(connection) if logged else nullcontext()
        with logging, connection.execute_wrapper(record), transaction.atomic(), sql.write_batch():
            sql.insert(rows)
        return [s for s in sent if s.startswith("WITH")]

    assert connection.queries_logged is False
    quiet, logged = combined_writes_sent(logged=False), combined_writes_sent(logged=True)
    assert len(quiet) == len(logged) == 1
    assert quiet[0] == logged[0]
    assert Notification.objects.count() == 4
