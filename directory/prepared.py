"""Primary-key reads compiled once per process instead of on every request.

Compiling `Model.objects.filter(pk=...)` costs Django a few hundred microseconds a call (building the
Query, resolving lookups, the SQL compiler), more than the indexed read itself: on the SCIM hot path
(GET, and the locked read every PATCH, PUT and DELETE starts with) that is a sixth of a request.
A PkLookup compiles its queryset once, with a placeholder key, keeps the SQL and the column layout,
and afterwards only executes the SQL and builds the instance as Django's ModelIterable would (same
columns, same converters, annotations set as attributes).
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from django.db import connection
from django.db.models import Model, QuerySet
from django.db.transaction import TransactionManagementError

M = TypeVar("M", bound=Model)
_PLACEHOLDER = uuid.UUID(int=0x5EED)


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple[Any, ...]  # the compiled parameters, the key's place holding the placeholder
    key_position: int
    init_list: list[str]
    model_start: int
    model_end: int
    annotations: dict[str, int]
    converters: dict[int, tuple[list[Any], Any]]
    for_update: bool


class PkLookup(Generic[M]):
    """`build(pk)` returns the queryset of one primary key; `get(pk)` runs its cached SQL."""

    def __init__(self, model: type[M], build: Callable[[uuid.UUID], QuerySet[M]]) -> None:
        self._model = model
        self._build = build
        self._compiled: _Compiled | None = None
        self._lock = threading.Lock()

    def _compile(self) -> _Compiled:
        queryset = self._build(_PLACEHOLDER)
        compiler = queryset.query.get_compiler(using=queryset.db)
        sql, params = compiler.as_sql()  # also fills compiler.select, klass_info, annotation_col_map
        keys = [i for i, param in enumerate(params) if param == _PLACEHOLDER]
        if len(keys) != 1 or compiler.klass_info is None or compiler.klass_info["model"] is not self._model:
            raise ValueError(f"a PkLookup queryset must select one {self._model.__name__} by its key, got {params!r}")
        fields = compiler.klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        expressions = [column for column, _, _ in compiler.select]
        return _Compiled(
            sql=sql,
            params=tuple(params),
            key_position=keys[0],
            init_list=[column.target.attname for column, _, _ in compiler.select[start:end]],
            model_start=start,
            model_end=end,
            annotations=dict(compiler.annotation_col_map or {}),
            converters=compiler.get_converters(expressions),
            for_update=bool(queryset.query.select_for_update),
        )

    def compiled(self) -> _Compiled:
        if self._compiled is None:
            with self._lock:
                if self._compiled is None:
                    self._compiled = self._compile()
        return self._compiled

    def get(self, pk: uuid.UUID) -> M | None:
        compiled = self.compiled()
        if compiled.for_update and connection.get_autocommit():
            raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
        with connection.cursor() as cursor:
            params = list(compiled.params)
            params[compiled.key_position] = pk
            cursor.execute(compiled.sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        values = list(row)
        for position, (converters, expression) in compiled.converters.items():
            value = values[position]
            for converter in converters:
                value = converter(value, expression, connection)
            values[position] = value
        instance = self._model.from_db(connection.alias, compiled.init_list, values[compiled.model_start : compiled.model_end])
        for name, position in compiled.annotations.items():
            setattr(instance, name, values[position])
        return instance
