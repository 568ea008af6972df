"""Transaction helpers shared by the apps' services."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection, transaction


@contextmanager
def joined_transaction() -> Iterator[None]:
    """Run in the caller's transaction without a savepoint, or in a new one when there is none.

    For services that check everything before they write, so a refusal leaves nothing to undo:
    a savepoint would only add two round trips (SAVEPOINT, RELEASE) per call, and on the
    checkout path those are paid while the product rows are locked. An exception raised here
    does not mark the caller's transaction for rollback, so a caller may catch a refusal (e.g.
    ``InsufficientStock`` on a late payment) and go on.
    """
    if connection.in_atomic_block:
        yield
    else:
        with transaction.atomic():
            yield
