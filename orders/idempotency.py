"""Idempotency-Key handling for checkout, as Stripe and the IETF draft describe it.

Checkout reads the key's row first (``lookup`` + ``settle``, with its cart read): a stored
response replays, whatever the cart holds now. A key is claimed by inserting its row in a
short transaction of its own: the unique
(customer, key) constraint decides a race, so of two simultaneous requests exactly one wins and
the other sees the row (409 while it is in progress). The winner completes the row with its
response inside the same transaction that creates the order, so "order exists" and "key
completed" commit together. A request that fails gives its key back (nothing was created),
so the client may retry with the same key.
"""

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, connection, transaction
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
# A claim older than this is from a process that died mid-request (its transaction rolled
# back); it may be taken over. Completion checks the claim is still ours, so this is safe.
ABANDONED_AFTER = timedelta(minutes=5)
_VISIBLE_ASCII = re.compile(r"[\x21-\x7e]+")
KEY_MAX_LENGTH = IdempotencyKey._meta.get_field("key").max_length


@dataclass(frozen=True)
class Claim:
    key_id: int


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


def claim_key(
    *,
    customer: Any,
    key: str,
    fingerprint: str,
    scope: str = CHECKOUT,
    now: datetime | None = None,
) -> Claim | Replay:
    """Claim ``key`` for this request, or return the stored response to replay.

    ``scope`` names the endpoint, so one customer's key for checkout and for another
    idempotent endpoint (e.g. paying an order) never collide.

    Raises ``IdempotencyKeyReused`` (422) when the key came with another body and
    ``RequestInProgress`` (409) while the first request still runs.
    """
    now = now or timezone.now()
    for _attempt in range(3):
        try:
            row = _insert_claim(
                customer=customer, scope=scope, key=key, fingerprint=fingerprint, now=now
            )
            return Claim(key_id=row.pk)
        except IntegrityError:
            pass
        statement, params = lookup(customer=customer, key=key, scope=scope)
        replay = settle(sql.fetch_all(statement, params), fingerprint=fingerprint, now=now)
        if replay is not None:
            return replay
        # Free again (given back, or an expired or abandoned row deleted): claim again.
    raise RequestInProgress()


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
    was abandoned and is now deleted) and the request may go on to ``claim_key``.

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


def _insert_claim(
    *, customer: Any, scope: str, key: str, fingerprint: str, now: datetime
) -> IdempotencyKey:
    """Insert the key row, committed at once so that concurrent requests see it.

    Outside a transaction (the API view) the INSERT commits by itself: no BEGIN/COMMIT round
    trips. Inside one, a savepoint keeps a duplicate-key error from dooming the caller's work.
    """
    fields = {
        "customer": customer, "scope": scope, "key": key, "fingerprint": fingerprint,
        "created_at": now,
    }  # fmt: skip
    row = IdempotencyKey(**fields)
    if not connection.in_atomic_block:
        sql.insert([row])
        return row
    with transaction.atomic():
        sql.insert([row])
    return row


@cache
def _complete_sql() -> str:
    model = IdempotencyKey
    assignments = ", ".join(
        f"{sql.column(model, name)} = %s"
        for name in ("status", "response_status", "response_body", "order")
    )
    return (
        f"UPDATE {sql.table(model)} SET {assignments} "  # noqa: S608 (names only)
        f"WHERE {sql.column(model, 'id')} = %s AND {sql.column(model, 'status')} = %s"
    )


def complete_key(*, claim: Claim, status: int, body: Any, order: Order | None) -> None:
    """Store the response; call inside the transaction that did the work (the write may
    travel with the others of a ``sql.combined_writes()`` block)."""
    response_body = IdempotencyKey._meta.get_field("response_body")
    sql.execute(
        _complete_sql(),
        [
            IdempotencyKey.Status.COMPLETED,
            status,
            response_body.get_db_prep_save(body, connection),
            order.pk if order is not None else None,
            claim.key_id,
            IdempotencyKey.Status.IN_PROGRESS,
        ],
        may_wait=True,
        check=_still_ours,
    )


def _still_ours(completed: int) -> None:
    if completed != 1:
        # Our claim was taken over as abandoned; undo our work rather than answer twice.
        raise RequestInProgress()


def release_key(*, claim: Claim) -> None:
    """Give the key back after a failed request that wrote nothing (every refused checkout
    does this, so it is one hand-written DELETE, not the ORM's deletion collector)."""
    model = IdempotencyKey
    sql.execute(
        f"DELETE FROM {sql.table(model)} WHERE {sql.column(model, 'id')} = %s "  # noqa: S608
        f"AND {sql.column(model, 'status')} = %s",
        [claim.key_id, model.Status.IN_PROGRESS],
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
