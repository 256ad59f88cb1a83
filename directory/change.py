"""What every directory write shares: who makes it, its transaction, version checks, unique values."""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
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


_caller_owns_transaction: ContextVar[bool] = ContextVar("rollcall_caller_owns_transaction", default=False)


@contextmanager
def in_callers_transaction() -> Iterator[None]:
    """Declare that the caller's transaction holds exactly one change and fails with it.

    The SCIM edge's write path does this (its transaction also holds the request-log row): the
    service then adds no savepoint of its own, so a write costs one commit and no savepoint round
    trips. The caller must let a failed change's error propagate out of its transaction."""
    token = _caller_owns_transaction.set(True)
    try:
        yield
    finally:
        _caller_owns_transaction.reset(token)


def change_transaction() -> transaction.Atomic:
    """The transaction of one directory change (the row, its value rows and its outbox events).

    Nested in another transaction it is a savepoint, so a refused change (NotFound, Conflict, ...)
    leaves the caller's transaction usable, unless the caller declared `in_callers_transaction()`."""
    return transaction.atomic(savepoint=not _caller_owns_transaction.get())


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
