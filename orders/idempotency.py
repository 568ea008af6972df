"""Idempotency-Key handling, as Stripe and the IETF draft describe it; it wraps the work it
guards (checkout: ``orders.checkout_requests``) and does not run through it.

A request ``claim``s the key and ``complete``s it with its answer in the transaction that does
the work (on PostgreSQL both go out with the work's own writes): "order exists" and "key
completed" commit together, and a request that fails leaves no row, so the client may retry
with the same key. A claim that fails (``KeyTaken``) rolls the work back, and ``answer_taken``
says what to answer: the stored response (whatever the cart holds now), 422 for another body.
While that transaction runs it holds a transaction-level advisory lock on the key: a second
request with the key fails to take it and answers 409 ``request_in_progress`` at once instead
of waiting on the first one's row. The unique (customer, scope, key) constraint still decides
every race.
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

from core import sql
from orders.errors import (
    IdempotencyKeyInvalid,
    IdempotencyKeyRequired,
    IdempotencyKeyReused,
    RequestInProgress,
)
from orders.models import IdempotencyKey, Order

CHECKOUT = "checkout"  # the scope of checkout's keys
KEY_LIFETIME = timedelta(hours=24)
# A row is in progress only inside the claiming transaction; one committed in progress was
# written by an earlier version (a rolling deploy) and, older than this, by a process that died.
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
    selected = ", ".join(f"{sql.column(model, name)} AS {name}" for name in _LOOKUP_FIELDS)
    return (
        f"SELECT {selected} FROM {sql.table(model)} "  # noqa: S608
        f"WHERE {sql.column(model, 'customer')} = %s AND {sql.column(model, 'scope')} = %s "
        f"AND {sql.column(model, 'key')} = %s"
    )


class KeyTaken(Exception):
    """The key's row was not written: another request with the key is running or has finished.
    The caller's transaction must roll back; ``answer_taken`` then tells what to answer."""


def claim(*, customer: Any, key: str, fingerprint: str, now: datetime, scope: str = CHECKOUT
          ) -> None:  # fmt: skip
    """Claim the key for the work the caller's transaction is about to do: its row, written
    ``in_progress`` in that transaction (held in a ``sql.write_batch()``: it goes out with the
    work's own writes, ahead of them). While the transaction runs it holds a transaction-level
    advisory lock on the key: a second request with the key fails to take it and is told at
    once (``KeyTaken``: 409 ``request_in_progress``) instead of waiting on the first one's row,
    and it learns that before anything else of its own can fail. ``complete`` fills the
    answer in before the commit, so no other request ever sees the row in progress."""
    values = [
        customer.pk, scope, key, fingerprint, IdempotencyKey.Status.IN_PROGRESS,
        connection.ops.adapt_datetimefield_value(now),  # as the ORM stores created_at
    ]  # fmt: skip
    if connection.vendor == "postgresql":
        values.append(f"{customer.pk}:{scope}:{key}")  # the advisory lock's name
    sql.execute(_claim_sql(connection.vendor), values, deferrable=True, check=_written)


def complete(
    *,
    customer: Any,
    key: str,
    status: int,
    body: Any,
    order: Order | None,
    scope: str = CHECKOUT,
) -> None:
    """Store the answer on the claimed key's row, in the same transaction (held, like
    ``claim``)."""
    model = IdempotencyKey
    response_body = model._meta.get_field("response_body")
    values = [
        IdempotencyKey.Status.COMPLETED, status,
        response_body.get_db_prep_save(body, connection),
        order.pk if order is not None else None,
        customer.pk, scope, key,
    ]  # fmt: skip
    sql.execute(_complete_sql(), values, deferrable=True, check=_written)


_CLAIM_FIELDS = ("customer", "scope", "key", "fingerprint", "status", "created_at")


@cache
def _claim_sql(vendor: str) -> str:
    model = IdempotencyKey
    columns = sql.columns(model, _CLAIM_FIELDS)
    conflict = f"ON CONFLICT ({sql.columns(model, ['customer', 'scope', 'key'])}) DO NOTHING"
    if vendor != "postgresql":
        # SQLite: its IMMEDIATE transactions already run one writer at a time.
        placeholders = ", ".join(["%s"] * len(_CLAIM_FIELDS))
        values = f"VALUES ({placeholders})"
        return f"INSERT INTO {sql.table(model)} ({columns}) {values} {conflict}"
    # Typed placeholders: in a SELECT list PostgreSQL would take them for text.
    typed = ", ".join(
        f"%s::{model._meta.get_field(name).db_type(connection)}" for name in _CLAIM_FIELDS
    )
    locked = "pg_try_advisory_xact_lock(hashtextextended(%s, 0))"
    return f"INSERT INTO {sql.table(model)} ({columns}) SELECT {typed} WHERE {locked} {conflict}"


@cache
def _complete_sql() -> str:
    model = IdempotencyKey
    assignments = ", ".join(
        f"{sql.column(model, name)} = %s"
        for name in ("status", "response_status", "response_body", "order")
    )
    return (
        f"UPDATE {sql.table(model)} SET {assignments} "  # noqa: S608 (names only)
        f"WHERE {sql.column(model, 'customer')} = %s AND {sql.column(model, 'scope')} = %s "
        f"AND {sql.column(model, 'key')} = %s"
    )


def _written(rows: int) -> None:
    if rows != 1:
        raise KeyTaken()


def stored_answer(
    *, customer: Any, key: str, fingerprint: str, now: datetime, scope: str = CHECKOUT
) -> Replay | None:
    """The answer stored with ``key``, if a request with it was answered; None when the key is
    free (never used, expired, or its request is still running: then the caller's own
    answer stands). Raises ``IdempotencyKeyReused`` if it came with another body."""
    try:
        return answer_taken(customer=customer, key=key, fingerprint=fingerprint, now=now,
                            scope=scope)  # fmt: skip
    except RequestInProgress:
        return None


def answer_taken(
    *, customer: Any, key: str, fingerprint: str, now: datetime, scope: str = CHECKOUT
) -> Replay | None:
    """After ``KeyTaken`` (and the rollback): the stored answer of the request that took the
    key; None when its row had expired or been abandoned (it is deleted now: the key is free
    again). Raises ``RequestInProgress`` while that request runs (its row is not committed),
    ``IdempotencyKeyReused`` if it came with another body."""
    row = sql.record(_lookup_sql(), [customer.pk, scope, key])
    if row is None:
        raise RequestInProgress()
    created_at = sql.datetime_from_db(row.created_at)
    in_progress = row.status == IdempotencyKey.Status.IN_PROGRESS
    if created_at <= now - KEY_LIFETIME or (in_progress and created_at <= now - ABANDONED_AFTER):
        IdempotencyKey.objects.filter(pk=row.id, status=row.status, created_at=created_at).delete()
        return None
    if row.fingerprint != fingerprint:
        raise IdempotencyKeyReused()
    if in_progress:
        raise RequestInProgress()
    body = IdempotencyKey._meta.get_field("response_body").from_db_value(
        row.response_body, None, connection
    )
    return Replay(status=row.response_status or 200, body=body or {})


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
