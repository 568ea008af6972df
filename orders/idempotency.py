"""Idempotency-Key handling for checkout, as Stripe and the IETF draft describe it.

Checkout reads the key's row first (``lookup`` + ``settle``, with its cart read): a stored
response replays, another body is refused, whatever the cart holds now. A request that goes on
writes the key's row, completed with its response, in the same transaction (and the same
statement on PostgreSQL) as the order: "order exists" and "key completed" commit together, and
a request that fails leaves no row, so the client may retry with the same key. While that
transaction runs it holds a transaction-level advisory lock on the key: a second request with
the key fails to take it and answers 409 ``request_in_progress`` at once instead of waiting on
the first one's row. The unique (customer, scope, key) constraint still decides every race.
"""

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import connection, transaction
from django.utils import timezone

from config import sql
from orders.errors import (
    IdempotencyKeyInvalid,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    RequestInProgress,
)
from orders.models import IdempotencyKey, Order

CHECKOUT = "checkout"  # the scope of checkout's keys
KEY_LIFETIME = timedelta(hours=24)
# Rows in_progress were written by the earlier version's claim (a rolling deploy may still
# have such processes); one older than this is from a process that died mid-request.
ABANDONED_AFTER = timedelta(minutes=5)
_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")
KEY_MAX_LENGTH = IdempotencyKey._meta.get_field("key").max_length


@dataclass(frozen=True)
class Replay:
    status: int
    body: dict[str, Any]


def validate_key(raw: str | None, *, max_length: int = KEY_MAX_LENGTH) -> str:
    """The ``Idempotency-Key`` header's value; ``max_length`` is that of the column it goes in."""
    if raw is None or raw.strip() == "":
        raise IdempotencyKeyRequired()
    key = raw.strip()
    if len(key) > max_length or not _VISIBLE_ASCII.fullmatch(key):
        raise IdempotencyKeyInvalid(
            f"The Idempotency-Key must be 1 to {max_length} visible ASCII characters.",
            details={"max_length": max_length},
        )
    return key


def validate_optional_key(raw: str | None, *, max_length: int) -> str | None:
    """As ``validate_key`` where the header may be left out (staff refunds): None then."""
    if raw is None or raw.strip() == "":
        return None
    return validate_key(raw, max_length=max_length)


def fingerprint(body: Any) -> str:
    canonical = json.dumps(body, sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode()).hexdigest()


def as_json(body: Any) -> Any:
    """The body exactly as it will be stored and replayed (Decimals, dates as strings)."""
    return json.loads(json.dumps(body, cls=DjangoJSONEncoder))


_LOOKUP_FIELDS = ("id", "fingerprint", "status", "created_at", "response_status", "response_body")


@cache
def _lookup_sql() -> str:
    model = IdempotencyKey
    return (
        f"SELECT {sql.columns(model, _LOOKUP_FIELDS)} FROM {sql.table(model)} "  # noqa: S608
        f"WHERE {sql.column(model, 'customer')} = %s AND {sql.column(model, 'scope')} = %s "
        f"AND {sql.column(model, 'key')} = %s"
    )


def lookup(*, customer: Any, key: str, scope: str = CHECKOUT) -> tuple[str, list[Any]]:
    """The read of the key's row, as a statement and its parameters: its rows go to
    ``settle``."""
    return _lookup_sql(), [customer.pk, scope, key]


LOOKUP_WIDTH = len(_LOOKUP_FIELDS)  # columns of a ``lookup`` row


def joined_lookup_sql(alias: str, customer_sql: str) -> tuple[str, str]:
    """``lookup`` folded into another read: its ``LOOKUP_WIDTH`` columns to select (last) and
    the LEFT JOIN to add, on the customer column ``customer_sql``; the join takes the scope
    and the key as parameters. At most one row joins: (customer, scope, key) is unique."""
    model = IdempotencyKey
    columns = ", ".join(f"{alias}.{sql.column(model, name)}" for name in _LOOKUP_FIELDS)
    join = (
        f"LEFT JOIN {sql.table(model)} {alias} "
        f"ON {alias}.{sql.column(model, 'customer')} = {customer_sql} "
        f"AND {alias}.{sql.column(model, 'scope')} = %s AND {alias}.{sql.column(model, 'key')} = %s"
    )
    return columns, join


def settle(rows: list[tuple], *, fingerprint: str, now: datetime) -> Replay | None:
    """What a request must answer given its key's row as ``lookup`` read it: the stored
    response to replay, or None when the key is free (never used, or its row had expired or
    was abandoned and is now deleted) and the request may go on.

    Raises ``IdempotencyKeyReused`` (another body) or ``RequestInProgress``."""
    if not rows:
        return None
    pk, stored_fingerprint, status, created_at, response_status, response_body = rows[0]
    created_at = sql.datetime_from_db(created_at)
    expired = created_at <= now - KEY_LIFETIME
    abandoned = status == IdempotencyKey.Status.IN_PROGRESS and created_at <= now - ABANDONED_AFTER
    if expired or abandoned:
        IdempotencyKey.objects.filter(pk=pk, status=status, created_at=created_at).delete()
        return None
    if stored_fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    if status == IdempotencyKey.Status.IN_PROGRESS:
        raise RequestInProgress()
    body = IdempotencyKey._meta.get_field("response_body").from_db_value(
        response_body, None, connection
    )
    return Replay(status=response_status or 200, body=body or {})


class KeyTaken(Exception):
    """The key's row was not written: another request with the key is running or has finished.
    The caller's transaction must roll back; ``answer_taken`` then tells what to answer."""


def record_response(
    *,
    customer: Any,
    key: str,
    fingerprint: str,
    status: int,
    body: Any,
    order: Order | None,
    now: datetime,
    scope: str = CHECKOUT,
) -> None:
    """Write the key's row, completed with the response, inside the transaction that did the
    work (the write may travel with the others of a ``sql.combined_writes()`` block).

    Raises ``KeyTaken`` when it writes nothing, at the write or at the end of the block."""
    response_body = IdempotencyKey._meta.get_field("response_body")
    values = [
        customer.pk, scope, key, fingerprint, IdempotencyKey.Status.COMPLETED, status,
        response_body.get_db_prep_save(body, connection),
        order.pk if order is not None else None,
        connection.ops.adapt_datetimefield_value(now),  # as the ORM stores created_at
    ]  # fmt: skip
    if connection.vendor == "postgresql":
        values.append(f"{customer.pk}:{scope}:{key}")  # the advisory lock's name
    sql.execute(_record_sql(connection.vendor), values, may_wait=True, check=_written)


_RECORD_FIELDS = (
    "customer", "scope", "key", "fingerprint", "status", "response_status", "response_body",
    "order", "created_at",
)  # fmt: skip


@cache
def _record_sql(vendor: str) -> str:
    model = IdempotencyKey
    columns = sql.columns(model, _RECORD_FIELDS)
    conflict = f"ON CONFLICT ({sql.columns(model, ['customer', 'scope', 'key'])}) DO NOTHING"
    if vendor != "postgresql":
        # SQLite: its IMMEDIATE transactions already run one writer at a time.
        placeholders = ", ".join(["%s"] * len(_RECORD_FIELDS))
        values = f"VALUES ({placeholders})"
        return f"INSERT INTO {sql.table(model)} ({columns}) {values} {conflict}"
    # Typed placeholders: in a SELECT list PostgreSQL would take them for text.
    typed = ", ".join(
        f"%s::{model._meta.get_field(name).db_type(connection)}" for name in _RECORD_FIELDS
    )
    # Held until the transaction ends; a second request with the key gets false, not a wait.
    locked = "pg_try_advisory_xact_lock(hashtextextended(%s, 0))"
    values = f"SELECT {typed} WHERE {locked}"
    return f"INSERT INTO {sql.table(model)} ({columns}) {values} {conflict}"


def _written(rows: int) -> None:
    if rows != 1:
        raise KeyTaken()


def answer_taken(
    *, customer: Any, key: str, fingerprint: str, now: datetime, scope: str = CHECKOUT
) -> Replay:
    """After ``KeyTaken`` (and the rollback): the stored response, if the other request has
    finished. Raises ``RequestInProgress`` while it runs, ``IdempotencyKeyReused`` if it
    came with another body."""
    replay = settle(sql.fetch_all(*lookup(customer=customer, key=key, scope=scope)),
                    fingerprint=fingerprint, now=now)  # fmt: skip
    if replay is None:  # nothing committed: the other request is still running
        raise RequestInProgress()
    return replay


def update_response(*, customer: Any, key: str, body: Any, scope: str = CHECKOUT) -> None:
    """Replace the stored response of a completed key (checkout adds the gateway's answer)."""
    IdempotencyKey.objects.filter(customer=customer, scope=scope, key=key).update(
        response_body=body
    )


def purge_expired_keys(*, now: datetime | None = None, batch_size: int = 5000) -> int:
    """Delete keys past their lifetime in bounded batches; returns how many were deleted.

    Rows are picked with ``FOR UPDATE SKIP LOCKED``, so two purges at once split the work.
    """
    now = now or timezone.now()
    total = 0
    while True:
        with transaction.atomic():
            batch = (
                IdempotencyKey.objects.select_for_update(skip_locked=True)
                .filter(created_at__lte=now - KEY_LIFETIME)
                .order_by()
                .values("pk")[:batch_size]
            )
            deleted, _ = IdempotencyKey.objects.filter(pk__in=batch).delete()
        total += deleted
        if deleted < batch_size:
            return total
