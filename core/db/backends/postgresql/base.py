"""Django's PostgreSQL backend plus the three things checkout's hot path measured worth keeping
(docs/performance.md, "The database backend"): each costs less per statement than Django's own
path, and checkout is CPU-bound on a short row lock.

- ``statement_cursor()``: one cursor per connection, reused from statement to statement
  (Django and psycopg set a new one up each time: about 50 us, several times per checkout).
- ``numbered``: a statement written once with PostgreSQL's ``$1`` placeholders goes through
  psycopg's raw cursor as it is; psycopg converts ``%s`` on every execution and caches the
  result only for statements under 4 kB and 50 parameters, which checkout's combined writes
  are not.
- ``write_batch()``: writes handed to ``defer_write`` are held and sent as one statement of
  data-modifying CTEs, together with the next read (one psycopg pipeline, one round trip).

Everything else is Django's. Queries are logged through Django's own cursor wrappers whatever
the path, so the code path is the same with ``DEBUG`` or ``CaptureQueriesContext`` on or off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import psycopg
from django.db.backends.postgresql import base as postgresql
from django.db.backends.utils import CursorWrapper

from core.db.backends.postgresql.operations import DatabaseOperations


@dataclass(frozen=True)
class DeferredWrite:
    sql: str  # one INSERT, UPDATE or DELETE without RETURNING, with %s placeholders
    params: Sequence[Any]
    check: Callable[[int], None] | None  # called with the rows it touched


class DatabaseWrapper(postgresql.DatabaseWrapper):
    ops_class = DatabaseOperations

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._statement_cursors: dict[tuple[bool, bool], Any] = {}
        self._batch: list[DeferredWrite] | None = None

    def get_new_connection(self, conn_params: dict[str, Any]) -> Any:
        self._statement_cursors = {}  # they belonged to the connection being replaced
        return super().get_new_connection(conn_params)

    def _close(self) -> None:
        self._statement_cursors = {}
        super()._close()  # type: ignore[misc]  # not in django-stubs

    # --- statements -------------------------------------------------------------------------
    def statement_cursor(self, *, numbered: bool = False, batch: bool = False) -> CursorWrapper:
        """This connection's reused cursor, wrapped as Django wraps its own (error
        translation, query logging, execute wrappers). ``numbered``: the raw cursor, for
        statements with ``$1`` placeholders. ``batch``: the one for held writes, apart from the
        reads' (both run in one pipeline, and each keeps its own results)."""
        self.close_if_health_check_failed()
        self.ensure_connection()
        self.validate_thread_sharing()
        cursor: Any = self._statement_cursors.get((numbered, batch))
        if cursor is None:
            cursor = psycopg.RawCursor(self.connection) if numbered else self.create_cursor()
            self._statement_cursors[(numbered, batch)] = cursor
        return self.make_debug_cursor(cursor) if self.queries_logged else self.make_cursor(cursor)

    def fetch(
        self, sql: str, params: Sequence[Any] = (), *, send_held_writes: bool = True
    ) -> tuple[list[tuple[Any, ...]], list[str]]:
        """Run one read; its rows and its column names. Writes held by ``write_batch`` go
        first, in the same round trip, unless ``send_held_writes`` is false (the read does not
        depend on them: they stay held for the next read)."""
        writes = self._take_batch() if send_held_writes else []
        if writes:
            return self._send_with_read(writes, sql, params)
        cursor = self.statement_cursor()
        cursor.execute(sql, params)
        return cursor.fetchall(), _names(cursor)

    def execute_write(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one write now (after any held ones); the rows it touched."""
        self._send(self._take_batch())
        cursor = self.statement_cursor()
        cursor.execute(sql, params)
        return int(cursor.rowcount)

    # --- writes held until the next read ----------------------------------------------------
    @contextmanager
    def write_batch(self) -> Iterator[None]:
        """Hold the writes handed to ``defer_write`` inside the block; send them as one
        statement with the next ``fetch`` or when the block ends (not when it raises). The
        writes share one snapshot, so none may depend on another's rows (foreign keys between
        them are fine: they are checked when the statement ends). A write that fails, or a
        ``check`` that raises, fails where they are sent. Nested blocks join the outer one."""
        if self._batch is not None:
            yield
            return
        self._batch = []
        try:
            yield
        except BaseException:
            self._batch = None
            raise
        writes, self._batch = self._batch, None
        self._send(writes)

    def defer_write(
        self, sql: str, params: Sequence[Any], check: Callable[[int], None] | None = None
    ) -> None:
        """Hold a write in the current ``write_batch``, or run it now when there is none."""
        if self._batch is None:
            touched = self.execute_write(sql, params)
            if check is not None:
                check(touched)
            return
        self._batch.append(DeferredWrite(sql, params, check))

    def _take_batch(self) -> list[DeferredWrite]:
        if not self._batch:
            return []
        writes = self._batch[:]
        self._batch.clear()
        return writes

    def _combined(self, writes: list[DeferredWrite]) -> tuple[CursorWrapper, str, list[Any]]:
        statements = tuple(write.sql for write in writes)
        params = [p for write in writes for p in write.params]
        numbered = bool(self.features.uses_server_side_binding)  # type: ignore[attr-defined]
        cursor = self.statement_cursor(numbered=numbered, batch=True)
        return cursor, combined_sql(statements, numbered), params

    def _send(self, writes: list[DeferredWrite]) -> None:
        if writes:
            cursor, sql, params = self._combined(writes)
            cursor.execute(sql, params)
            _checked(writes, cursor.fetchone())

    def _send_with_read(
        self, writes: list[DeferredWrite], sql: str, params: Sequence[Any]
    ) -> tuple[list[tuple[Any, ...]], list[str]]:
        """The held writes, then the read, in one psycopg pipeline. If the writes fail the
        read is not run and their error is raised as Django's."""
        read = self.statement_cursor()
        write, combined, write_params = self._combined(writes)
        with self.wrap_database_errors, self.connection.pipeline():
            write.execute(combined, write_params)
            read.execute(sql, params)
        counts, rows = write.fetchone(), read.fetchall()
        _checked(writes, counts)
        return rows, _names(read)


def _names(cursor: CursorWrapper) -> list[str]:
    return [column.name for column in cursor.description or ()]


def _checked(writes: list[DeferredWrite], counts: Sequence[int]) -> None:
    for write, count in zip(writes, counts, strict=True):
        if write.check is not None:
            write.check(count)


@lru_cache(maxsize=64)
def combined_sql(statements: tuple[str, ...], numbered: bool) -> str:
    """The writes as one statement answering with the rows each touched; ``numbered`` gives
    its placeholders as ``$1``, ``$2``…"""
    parts = ", ".join(f"w{i} AS ({sql} RETURNING 1)" for i, sql in enumerate(statements))
    tallies = ", ".join(f"(SELECT count(*) FROM w{i})" for i in range(len(statements)))  # noqa: S608
    combined = f"WITH {parts} SELECT {tallies}"  # our own statements; values stay parameters
    return numbered_sql(combined) if numbered else combined


def numbered_sql(sql: str) -> str:
    """``%s`` placeholders as ``$1``, ``$2``…; a statement with any other ``%`` is refused."""
    pieces = sql.split("%s")
    if any("%" in piece for piece in pieces):
        raise ValueError(f"only %s placeholders can be numbered: {sql!r}")
    return "".join(f"{piece}${n}" for n, piece in enumerate(pieces[:-1], 1)) + pieces[-1]
