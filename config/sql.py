"""Hand-written SQL for the few statements every checkout runs.

The ORM spends more CPU compiling a query than the database spends running it (about 0.5 ms
against 0.2 ms for a primary-key read on the reference machine), and checkout is CPU-bound.
So the hottest statements are written once, as SQL built from the models' own table and
column names (a renamed field cannot leave a stale name behind), and run through Django's
connection: same transaction, same placeholders on PostgreSQL and SQLite.
"""

from collections.abc import Sequence
from functools import lru_cache
from typing import Any

from django.db import connection, models


def table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def column(model: type[models.Model], field_name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(field_name).column)


def columns(model: type[models.Model], field_names: Sequence[str], prefix: str = "") -> str:
    return ", ".join(prefix + column(model, name) for name in field_names)


def fetch_all(sql: str, params: Sequence[Any] = ()) -> list[tuple]:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def fetch_one(sql: str, params: Sequence[Any] = ()) -> tuple | None:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def execute(sql: str, params: Sequence[Any] = ()) -> int:
    """Run a write; returns the number of rows it touched."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


@lru_cache(maxsize=256)
def _insert_sql(
    model: type[models.Model], columns: tuple[str, ...], rows: int, ignore_conflicts: bool
) -> str:
    quote = connection.ops.quote_name
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    statement = (
        f"INSERT INTO {table(model)} ({', '.join(quote(c) for c in columns)}) "  # noqa: S608
        f"VALUES {', '.join([row] * rows)}"
    )
    if ignore_conflicts:
        return statement + " ON CONFLICT DO NOTHING"
    return statement + f" RETURNING {quote(model._meta.pk.column)}"


def insert(objs: Sequence[models.Model], *, ignore_conflicts: bool = False) -> None:
    """INSERT unsaved instances of one model in a single statement and give them their ids.

    What ``bulk_create`` does for the checkout's rows (field defaults and ``auto_now_add``
    through ``pre_save``, values through ``get_db_prep_save``), with the statement text built
    once per shape. No signals are sent, as with ``bulk_create``. With ``ignore_conflicts``
    a row that breaks a unique constraint is skipped and no ids are read back.
    """
    if not objs:
        return
    model = type(objs[0])
    fields = [
        field
        for field in model._meta.concrete_fields
        if not (field.primary_key and field.attname and getattr(objs[0], field.attname) is None)
    ]
    params = [
        field.get_db_prep_save(field.pre_save(obj, True), connection)
        for obj in objs
        for field in fields
    ]
    statement = _insert_sql(
        model, tuple(field.column for field in fields), len(objs), ignore_conflicts
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        ids = [] if ignore_conflicts else [row[0] for row in cursor.fetchall()]
    for obj, pk in zip(objs, ids, strict=False):
        obj.pk = pk
    for obj in objs:
        obj._state.adding = False
        obj._state.db = connection.alias
