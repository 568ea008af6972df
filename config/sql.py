"""Hand-written SQL for the few statements every checkout runs.

The ORM spends more CPU compiling a query than the database spends running it (about 0.5 ms
against 0.2 ms for a primary-key read on the reference machine), and checkout is CPU-bound.
So the hottest statements are written once, as SQL built from the models' own table and
column names (a renamed field cannot leave a stale name behind), and run through Django's
connection: same transaction, same placeholders on PostgreSQL and SQLite.

On PostgreSQL, writes whose results nobody waits for can also travel together: inside
``combined_writes()`` they are held back and sent as one statement of data-modifying CTEs,
with the next read (one psycopg pipeline) or when the block ends. Each round trip costs the
client and the server more CPU than a small INSERT does (measured in docs/performance.md), so
checkout's six writes and its lock-check-hold cost one.
"""

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import UTC
from functools import lru_cache
from typing import Any

import psycopg
from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django.db.backends.base.base import BaseDatabaseWrapper
from django.utils import timezone
from django.utils.dateparse import parse_datetime


def datetime_from_db(value: Any) -> Any:
    """A timestamp column as read here: PostgreSQL gives an aware datetime, SQLite a naive one
    (or its text) in UTC, as Django stores it when ``USE_TZ``."""
    if isinstance(value, str):
        value = parse_datetime(value)
    if value is not None and settings.USE_TZ and timezone.is_naive(value):
        return timezone.make_aware(value, UTC)
    return value


def _db() -> BaseDatabaseWrapper:
    # The connection itself, not Django's ``connection`` proxy: each attribute read through
    # the proxy looks the connection up again in asgiref's context-local storage, and
    # checkout's INSERTs read ``connection.ops`` and ``.features`` for every value they bind.
    return connections[DEFAULT_DB_ALIAS]


def table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def column(model: type[models.Model], field_name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(field_name).column)


def columns(model: type[models.Model], field_names: Sequence[str], prefix: str = "") -> str:
    return ", ".join(prefix + column(model, name) for name in field_names)


# --- writes held back until the end of a combined_writes() block ------------------------------


@dataclass(frozen=True)
class _HeldWrite:
    sql: str  # one INSERT, UPDATE or DELETE without RETURNING
    params: Sequence[Any]
    check: Callable[[int], None] | None  # called with the rows it touched


_held: ContextVar[list[_HeldWrite] | None] = ContextVar("held_sql_writes", default=None)


@contextmanager
def combined_writes() -> Iterator[None]:
    """Send the ``insert``/``execute(..., may_wait=True)`` writes made inside as one statement.

    Only on PostgreSQL (elsewhere each runs at once, as without the block). The held writes
    run as data-modifying CTEs do: all on the snapshot taken when they are sent, so none may
    depend on another (an UPDATE does not see a row INSERTed in the same block; foreign keys
    between them are fine, they are checked when the statement ends). Against every other
    statement run through this module they keep their order: a write that cannot wait sends
    the held ones first, and a read sends them in the same round trip, just before it. ORM
    statements are not ordered with them, so code inside
    must not read back through the ORM what it wrote here. Run it inside a transaction: a
    held write that fails, or a ``check`` that raises, fails the end of the block.
    """
    if _db().vendor != "postgresql" or _held.get() is not None:
        yield
        return
    held: list[_HeldWrite] = []
    token = _held.set(held)
    try:
        yield
    finally:
        _held.reset(token)
    _send(held)


def _take_held() -> list[_HeldWrite]:
    held = _held.get()
    if not held:
        return []
    writes = held[:]
    held.clear()
    return writes


def _send_held() -> None:
    _send(_take_held())


@lru_cache(maxsize=64)
def _combined_sql(statements: tuple[str, ...], numbered: bool) -> str:
    """The writes as one statement that answers with the rows each touched; ``numbered``
    gives its placeholders as ``$1``, ``$2``…"""
    # Our own statements, each with its rows counted; values stay parameters.
    parts = ", ".join(
        f"w{i} AS ({statement} RETURNING 1)" for i, statement in enumerate(statements)
    )
    tallies = ", ".join(f"(SELECT count(*) FROM w{i})" for i in range(len(statements)))  # noqa: S608
    combined = f"WITH {parts} SELECT {tallies}"
    return _numbered(combined) if numbered else combined


def _numbered(statement: str) -> str:
    pieces = statement.split("%s")
    if any("%" in piece for piece in pieces):
        raise ValueError(f"only %s placeholders can be numbered: {statement!r}")
    return "".join(f"{piece}${n}" for n, piece in enumerate(pieces[:-1], 1)) + pieces[-1]


@contextmanager
def _combined_cursor(writes: list[_HeldWrite]) -> Iterator[tuple[Any, str, list[Any]]]:
    """A cursor, the statement and its parameters for sending ``writes`` as one.

    psycopg converts a statement's ``%s`` placeholders to PostgreSQL's ``$1``… on every
    execution and caches the result only for statements under 4 kB and 50 parameters;
    checkout's combined writes are larger, and parsing them again cost about 5 % of a
    checkout's CPU. Numbered once here (and cached) they go through psycopg's raw cursor,
    which sends them as they are. That needs server-side binding, and query logging (DEBUG,
    ``CaptureQueriesContext``) renders statements with ``%s``, so then the usual cursor runs.
    """
    statements = tuple(write.sql for write in writes)
    params = [p for write in writes for p in write.params]
    db = _db()
    if db.features.uses_server_side_binding and not db.queries_logged:
        yield _reused_cursor(raw=True), _combined_sql(statements, True), params
    else:
        with db.cursor() as cursor:
            yield cursor, _combined_sql(statements, False), params


def _reused_cursor(*, raw: bool = False) -> Any:
    """A cursor of this thread's connection, the same one from statement to statement (not
    closed after use), wrapped as Django wraps its own (error translation, query logging,
    execute wrappers). A new cursor costs Django's and psycopg's set-up and psycopg's lookup
    of a dumper for every parameter type again: about 50 us, several times per checkout.
    ``raw`` is psycopg's raw cursor, for statements numbered ``$1``…"""
    db = _db()
    db.close_if_health_check_failed()
    db.ensure_connection()
    db.validate_thread_sharing()
    reused = db.__dict__.get("_sql_reused_cursors")
    if reused is None or reused["connection"] is not db.connection:
        reused = db._sql_reused_cursors = {"connection": db.connection}
    cursor = reused.get(raw)
    if cursor is None:
        cursor = reused[raw] = psycopg.RawCursor(db.connection) if raw else db.create_cursor()
    return db.make_debug_cursor(cursor) if db.queries_logged else db.make_cursor(cursor)


def _checked(writes: list[_HeldWrite], counts: Sequence[int]) -> None:
    for write, count in zip(writes, counts, strict=True):
        if write.check is not None:
            write.check(count)


def _send(writes: list[_HeldWrite]) -> None:
    if writes:
        with _combined_cursor(writes) as (cursor, statement, params):
            cursor.execute(statement, params)
            counts = cursor.fetchone()
        _checked(writes, counts)


def _execute_now(sql: str, params: Sequence[Any]) -> int:
    cursor = _reused_cursor()
    cursor.execute(sql, params)
    return cursor.rowcount


# --- statements ---------------------------------------------------------------------------------


def fetch_all(sql: str, params: Sequence[Any] = ()) -> list[tuple]:
    writes = _take_held()
    if writes:
        return _fetch_after(writes, sql, params)
    cursor = _reused_cursor()
    cursor.execute(sql, params)
    return cursor.fetchall()


def fetch_one(sql: str, params: Sequence[Any] = ()) -> tuple | None:
    rows = fetch_all(sql, params)
    return rows[0] if rows else None


def _fetch_after(writes: list[_HeldWrite], sql: str, params: Sequence[Any]) -> list[tuple]:
    """PostgreSQL: the held writes, then this read, in one psycopg pipeline, so one round trip
    carries both (checkout's writes and its lock-check-hold). If the writes fail, the read is
    not run and their error is raised."""
    read_cursor = _reused_cursor()
    db = _db()
    with _combined_cursor(writes) as (write_cursor, statement, write_params):
        with db.wrap_database_errors, db.connection.pipeline():
            write_cursor.execute(statement, write_params)
            read_cursor.execute(sql, params)
        counts, rows = write_cursor.fetchone(), read_cursor.fetchall()
    _checked(writes, counts)
    return rows


def execute(
    sql: str,
    params: Sequence[Any] = (),
    *,
    may_wait: bool = False,
    check: Callable[[int], None] | None = None,
) -> None:
    """Run one INSERT, UPDATE or DELETE (without RETURNING); ``check`` gets the rows touched.

    With ``may_wait`` the write may be held until the end of a ``combined_writes()`` block,
    and ``check`` then runs there: raise from it to fail the block.
    """
    held = _held.get()
    if may_wait and held is not None:
        held.append(_HeldWrite(sql, params, check))
        return
    _send_held()
    count = _execute_now(sql, params)
    if check is not None:
        check(count)


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
    return statement + " ON CONFLICT DO NOTHING" if ignore_conflicts else statement


def insert(objs: Sequence[models.Model], *, ignore_conflicts: bool = False) -> None:
    """INSERT unsaved instances of one model in a single statement and give them their ids.

    What ``bulk_create`` does for the checkout's rows (field defaults and ``auto_now_add``
    through ``pre_save``, values through ``get_db_prep_save``), with the statement text built
    once per shape. No signals are sent, as with ``bulk_create``. With ``ignore_conflicts``
    a row that breaks a unique constraint is skipped and no ids are read back.

    When every row already has its primary key (drawn with ``next_id_sql``) or no ids are
    read back, the INSERT may be held by ``combined_writes()``.
    """
    if not objs:
        return
    model = type(objs[0])
    pk = model._meta.pk
    for obj in objs:
        # As bulk_create: a row built from a parent saved since (order → items) gets its id.
        obj._prepare_related_fields_for_save(operation_name="insert")
    ids_given = all(obj.pk is not None for obj in objs)
    fields = [f for f in model._meta.concrete_fields if ids_given or f is not pk]
    db = _db()
    params = [
        field.get_db_prep_save(field.pre_save(obj, True), db) for obj in objs for field in fields
    ]
    statement = _insert_sql(
        model, tuple(field.column for field in fields), len(objs), ignore_conflicts
    )
    if ids_given or ignore_conflicts:
        execute(statement, params, may_wait=True)
    else:
        returning = f"{statement} RETURNING {db.ops.quote_name(pk.column)}"
        for obj, (pk_value,) in zip(objs, fetch_all(returning, params), strict=True):
            obj.pk = pk_value
    for obj in objs:
        obj._state.adding = False
        obj._state.db = db.alias


@lru_cache(maxsize=32)
def _sequence(model: type[models.Model]) -> str:
    row = fetch_one("SELECT pg_get_serial_sequence(%s, %s)", [model._meta.db_table, "id"])
    if row is None or row[0] is None:
        raise LookupError(f"{model._meta.label} has no id sequence")
    return row[0]


def next_id_sql(model: type[models.Model]) -> str:
    """PostgreSQL: an SQL expression drawing the next id of ``model``'s sequence, to put in a
    query that runs anyway (ids known before the INSERT let the INSERTs wait; a rolled-back
    checkout leaves a gap, as a failed INSERT would)."""
    return f"nextval('{_sequence(model)}'::regclass)"
