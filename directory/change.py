"""What every directory write shares: who makes it, its transaction, version checks, unique values."""

from __future__ import annotations

from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import TypeVar

from django.db import IntegrityError, transaction

from directory.errors import Conflict, VersionMismatch
from outbox.append import Actor

T = TypeVar("T")
# A version the caller expects the resource to be at: one, one of several (a list of ETags), or any (None).
ExpectedVersion = int | Collection[int] | None


@dataclass(frozen=True)
class ChangeContext:
    """Who is changing the directory, and through which IdP profile's mapping."""

    actor: Actor
    idp: str = "generic"


def change_transaction() -> transaction.Atomic:
    """The transaction of one directory change (the row, its value rows and its outbox events).

    Nested in a caller's transaction (the SCIM view's, which also holds the request-log row) it
    adds no savepoint: a failed change fails the whole outer transaction, and every caller lets
    the error propagate rather than carrying on in that transaction.
    """
    return transaction.atomic(savepoint=False)


def check_version(expected: ExpectedVersion, current: int) -> None:
    """Refuse a change made against another version than the current one (nothing is written)."""
    if expected is None:
        return
    allowed = {expected} if isinstance(expected, int) else set(expected)
    if current not in allowed:
        raise VersionMismatch(current)


def unique_values_guard(fn: Callable[[], T], field: str, value: object = None) -> T:
    """Run a write; a unique-index violation becomes Conflict (the transaction is rolled back)."""
    try:
        return fn()
    except IntegrityError as exc:
        raise Conflict(field, value) from exc
