"""Named SQL for the few statements every checkout runs.

The ORM spends more CPU compiling a query than the database spends running it, and checkout is
CPU-bound, so its hottest statements are written once as SQL built from the models' own table
and column names (a renamed field cannot leave a stale name behind). Reads come back as named
records built from the columns' names. On PostgreSQL the statements run through the project's
database backend (``core.db.backends.postgresql``): one reused cursor, writes held by
``write_batch()`` and sent with the next read. Elsewhere (SQLite, the embedded default) each
runs at once through Django's cursor, with the same results.
"""

from __future__ import annotations

from collections import namedtuple
from collections.abc import Callable, Iterable, Sequence
from contextlib import nullcontext
from datetime import UTC
from functools import lru_cache
from typing import Any

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.db.models import NOT_PROVIDED
from django.utils import timezone
from django.utils.dateparse import parse_datetime


def _db() -> BaseDatabaseWrapper:
    # The connection itself, not Django's ``connection`` proxy: each attribute read through
    # the proxy looks the connection up again in asgiref's context-local storage, and an
    # INSERT reads ``ops`` and ``features`` for every value it binds.
    return connections[DEFAULT_DB_ALIAS]


def table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def column(model: type[models.Model], field_name: str) -> str:
    field = model._meta.get_field(field_name)
    if not isinstance(field, models.Field) or field.column is None:
        raise TypeError(f"{model.__name__}.{field_name} is not a column")
    return connection.ops.quote_name(field.column)


def columns(model: type[models.Model], field_names: Sequence[str], prefix: str = "") -> str:
    return ", ".join(prefix + column(model, name) for name in field_names)


# --- reads -------------------------------------------------------------------------------------
@lru_cache(maxsize=64)
def _record_maker(names: tuple[str, ...]) -> Callable[[Iterable[Any]], Any]:
    record_type: Any = namedtuple("Record", names)  # type: ignore[misc]  # names come with rows
    make: Callable[[Iterable[Any]], Any] = record_type._make
    return make


def records(sql: str, params: Sequence[Any] = (), *, send_held_writes: bool = True) -> list[Any]:
    """The rows of one read as named records (``row.quantity``), named by the statement's
    column names (give each selected expression an ``AS`` name). Writes held by
    ``write_batch()`` are sent first, in the same round trip; with ``send_held_writes`` false
    (a read that does not depend on them) they stay held for the next read."""
    rows, names = _fetch(sql, params, send_held_writes)
    make_record = _record_maker(tuple(names))
    return [make_record(row) for row in rows]


def record(sql: str, params: Sequence[Any] = ()) -> Any | None:
    found = records(sql, params)
    return found[0] if found else None


def _fetch(
    sql: str, params: Sequence[Any], send_held_writes: bool = True
) -> tuple[list[tuple[Any, ...]], list[str]]:
    db = _db()
    fetch = getattr(db, "fetch", None)
    if fetch is not None:
        return fetch(sql, params, send_held_writes=send_held_writes)  # type: ignore[no-any-return]
    with db.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall(), [column[0] for column in cursor.description]


def datetime_from_db(value: Any) -> Any:
    """A timestamp column as read here: PostgreSQL gives an aware datetime, SQLite a naive one
    (or its text) in UTC, as Django stores it when ``USE_TZ``."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and settings.USE_TZ and timezone.is_naive(value):
        return timezone.make_aware(value, UTC)
    return value


# --- writes ------------------------------------------------------------------------------------
def write_batch() -> Any:
    """A block whose ``deferrable`` writes are held and sent as one statement with the next
    read (PostgreSQL; elsewhere each write runs at once). See the backend's ``write_batch``."""
    batch = getattr(_db(), "write_batch", None)
    return batch() if batch is not None else nullcontext()


def execute(
    sql: str,
    params: Sequence[Any] = (),
    *,
    deferrable: bool = False,
    check: Callable[[int], None] | None = None,
) -> None:
    """Run one INSERT, UPDATE or DELETE (without RETURNING); ``check`` gets the rows touched.
    A ``deferrable`` write may be held by ``write_batch()``, and ``check`` then runs when it
    is sent: raise from it to fail the block."""
    db = _db()
    defer = getattr(db, "defer_write", None)
    if defer is not None:
        if deferrable:
            defer(sql, params, check)
            return
        touched = db.execute_write(sql, params)  # type: ignore[attr-defined]
    else:
        with db.cursor() as cursor:
            cursor.execute(sql, params)
            touched = cursor.rowcount
    if check is not None:
        check(touched)


@lru_cache(maxsize=256)
def _insert_sql(
    model: type[models.Model], names: tuple[str, ...], rows: int, ignore_conflicts: bool
) -> str:
    quote = connection.ops.quote_name
    row = "(" + ", ".join(["%s"] * len(names)) + ")"
    statement = (
        f"INSERT INTO {table(model)} ({', '.join(quote(c) for c in names)}) "  # noqa: S608
        f"VALUES {', '.join([row] * rows)}"
    )
    return statement + " ON CONFLICT DO NOTHING" if ignore_conflicts else statement


def insertable_fields(model: type[models.Model], *, with_pk: bool) -> list[models.Field[Any, Any]]:
    """The columns ``insert`` writes: every concrete field (the primary key only when given).
    Fields the database fills (``db_default``, generated columns) are refused: ``insert``
    would write their Python value over the database's; use ``bulk_create`` for such a model.
    """
    unsupported = [
        f.name
        for f in model._meta.concrete_fields
        if getattr(f, "generated", False) or f.db_default is not NOT_PROVIDED
    ]
    if unsupported:
        raise TypeError(f"{model.__name__}: insert cannot write {unsupported}; use bulk_create")
    pk = model._meta.pk
    return [f for f in model._meta.concrete_fields if with_pk or f is not pk]


def insert(
    objs: Sequence[models.Model], *, ignore_conflicts: bool = False, read_ids: bool = True
) -> None:
    """INSERT unsaved instances of one model in a single statement and give them their ids.

    What ``bulk_create`` stores for these rows (field defaults and ``auto_now_add`` through
    ``pre_save``, values through ``get_db_prep_save``: ``tests/test_sql.py`` compares the two
    for every model written this way), with the statement text built once per shape and no
    signals, as with ``bulk_create``. With ``ignore_conflicts`` a row that breaks a unique
    constraint is skipped. The ids are read back (a round trip of its own) unless every row
    has its primary key (drawn with ``next_id_sql``), ``ignore_conflicts`` or not
    ``read_ids``: then the INSERT may wait in a ``write_batch()``.
    """
    if not objs:
        return
    model = type(objs[0])
    for obj in objs:
        # As bulk_create: a row built from a parent saved since (order → items) gets its id.
        obj._prepare_related_fields_for_save(operation_name="insert")  # type: ignore[attr-defined]
    ids_given = all(obj.pk is not None for obj in objs)
    fields = insertable_fields(model, with_pk=ids_given)
    db = _db()
    params = [
        field.get_db_prep_save(field.pre_save(obj, True), db) for obj in objs for field in fields
    ]
    statement = _insert_sql(model, tuple(f.column for f in fields), len(objs), ignore_conflicts)
    if ids_given or ignore_conflicts or not read_ids:
        execute(statement, params, deferrable=True)
    else:
        returning = f"{statement} RETURNING {db.ops.quote_name(model._meta.pk.column)}"
        for obj, row in zip(objs, records(returning, params), strict=True):
            obj.pk = row[0]
    for obj in objs:
        obj._state.adding = False
        obj._state.db = db.alias


@lru_cache(maxsize=32)
def _sequence(model: type[models.Model]) -> str:
    row = record("SELECT pg_get_serial_sequence(%s, %s) AS name", [model._meta.db_table, "id"])
    if row is None or row.name is None:
        raise LookupError(f"{model._meta.label} has no id sequence")
    return str(row.name)


def next_id_sql(model: type[models.Model]) -> str:
    """PostgreSQL: an SQL expression drawing the next id of ``model``'s sequence, to put in a
    query that runs anyway (ids known before the INSERT let the INSERTs wait; a rolled-back
    checkout leaves a gap, as a failed INSERT would)."""
    return f"nextval('{_sequence(model)}'::regclass)"
