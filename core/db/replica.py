"""Read-only staff reports on a read replica (``DATABASE_REPLICA_URL``).

``with replica_reads():`` sends the ORM reads made inside the block to the ``replica`` database
alias when the settings define one (``ReplicaRouter``, in ``DATABASE_ROUTERS``); without it,
and for every write, nothing changes. Only figures that tolerate a replica a few seconds
behind read there — the dashboard and ``shop_report`` — never anything that decides about
money or stock.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any

from django.conf import settings

REPLICA_ALIAS = "replica"
_reading_replica: ContextVar[bool] = ContextVar("reading_replica", default=False)


@contextmanager
def replica_reads() -> Iterator[None]:
    token = _reading_replica.set(True)
    try:
        yield
    finally:
        _reading_replica.reset(token)


def replica_configured() -> bool:
    return REPLICA_ALIAS in settings.DATABASES


class ReplicaRouter:
    """Reads inside ``replica_reads()`` go to the replica; the rest is left to the default."""

    def db_for_read(self, model: type[Any], **hints: Any) -> str | None:
        if _reading_replica.get() and replica_configured():
            return REPLICA_ALIAS
        return None

    def db_for_write(self, model: type[Any], **hints: Any) -> str | None:
        return None

    def allow_relation(self, obj1: Any, obj2: Any, **hints: Any) -> bool | None:
        return None

    def allow_migrate(self, db: str, app_label: str, **hints: Any) -> bool | None:
        # The replica follows the primary's WAL: migrating it directly would be refused anyway.
        return False if db == REPLICA_ALIAS else None
