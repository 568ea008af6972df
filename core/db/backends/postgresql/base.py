"""Django's PostgreSQL backend plus one thing checkout's hot path needs: writes held and sent
together (docs/performance.md, "The database backend").

``write_batch()``: writes handed to ``defer_write`` inside the block are held and sent as one
statement of data-modifying CTEs, together with the next read (one psycopg pipeline, one round
trip), or when the block ends. Checkout's order writes (order, items, adjustments, event,
messages, the cart lines it consumes, the Idempotency-Key) thus travel with the statement that
locks, checks and holds the stock: a constant number of statements for any cart, and the row
locks of a popular product held for one round trip and the commit.

Everything else is Django's: statements run through ``cursor()``, so query logging, error
translation and execute wrappers see every path, with ``DEBUG`` or ``CaptureQueriesContext``
on or off.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from django.db.backends.postgresql import base as postgresql
from django.db.backends.utils import CursorWrapper


@dataclass(frozen=True)
class DeferredWrite:
    sql: str  # one INSERT, UPDATE or DELETE without RETURNING, with %s placeholders
    params: Sequence[Any]
    check: Callable[[int], None] | None  # called with the rows it touched


class DatabaseWrapper(postgresql.DatabaseWrapper):
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._batch: list[DeferredWrite] | None = None

    def fetch(
        self, sql: str, params: Sequence[Any] = (), *, send_held_writes: bool = True
    ) -> tuple[list[tuple[Any, ...]], list[str]]:
        """Run one read; its rows and its column names. Writes held by ``write_batch`` go
        first, in the same round trip, unless ``send_held_writes`` is false (the read does not
        depend on them: they stay held for the next read)."""
        writes = self._take_batch() if send_held_writes else []
        if writes:
            return self._send_with_read(writes, sql, params)
        with self.cursor() as cursor:
            cursor.execute(sql, params)
            return cursor.fetchall(), _names(cursor)

    def execute_write(self, sql: str, params: Sequence[Any] = ()) -> int:
        """Run one write now (after any held ones); the rows it touched."""
        self._send(self._take_batch())
        with self.cursor() as cursor:
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

    def _send(self, writes: list[DeferredWrite]) -> None:
        if writes:
            with self.cursor() as cursor:
                cursor.execute(*_combined(writes))
                _checked(writes, cursor.fetchone())

    def _send_with_read(
        self, writes: list[DeferredWrite], sql: str, params: Sequence[Any]
    ) -> tuple[list[tuple[Any, ...]], list[str]]:
        """The held writes, then the read, in one psycopg pipeline. If the writes fail the
        read is not run and their error is raised as Django's."""
        # Two cursors: in a pipeline each keeps the results of its own statement.
        with self.cursor() as write, self.cursor() as read:
            with self.wrap_database_errors, self.connection.pipeline():
                write.execute(*_combined(writes))
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


def _combined(writes: list[DeferredWrite]) -> tuple[str, list[Any]]:
    params = [p for write in writes for p in write.params]
    return combined_sql(tuple(write.sql for write in writes)), params


@lru_cache(maxsize=64)
def combined_sql(statements: tuple[str, ...]) -> str:
    """The writes as one statement answering with the rows each touched."""
    parts = ", ".join(f"w{i} AS ({sql} RETURNING 1)" for i, sql in enumerate(statements))
    tallies = ", ".join(f"(SELECT count(*) FROM w{i})" for i in range(len(statements)))  # noqa: S608
    return f"WITH {parts} SELECT {tallies}"  # our own statements; values stay parameters
