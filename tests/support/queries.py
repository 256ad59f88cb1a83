"""The one query-count helper: how many SQL statements a block runs (assert a ceiling, never seconds)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.db import connection
from django.test.utils import CaptureQueriesContext


@dataclass
class Queries:
    statements: list[str] = field(default_factory=list)

    @property
    def count(self) -> int:
        return len(self.statements)

    def touching(self, table: str) -> list[str]:
        return [s for s in self.statements if table in s]


@contextmanager
def count_queries(*, at_most: int | None = None, include_search_path: bool = True) -> Iterator[Queries]:
    """Record the block's SQL statements; with `at_most`, fail when it runs more.

    `include_search_path=False` leaves out django-tenants' `SET search_path` (schema switches)."""
    queries = Queries()
    with CaptureQueriesContext(connection) as context:
        yield queries
    statements = [q["sql"] for q in context.captured_queries]
    if not include_search_path:
        statements = [s for s in statements if not s.startswith("SET search_path")]
    queries.statements.extend(statements)
    if at_most is not None:
        shown = "\n".join(s[:200] for s in statements)
        assert queries.count <= at_most, f"{queries.count} queries > {at_most}:\n{shown}"
