"""The default database connection, typed as django-tenants' schema-switching wrapper, and a raw INSERT."""

from __future__ import annotations

from typing import Any, Protocol, cast

from django.db import connection
from django.db.models import AutoField, Model


class TenantConnection(Protocol):
    """What django-tenants' PostgreSQL backend adds to a connection (settings always use it)."""

    schema_name: str
    tenant: Any

    def set_tenant(self, tenant: Any, include_public: bool = True) -> None: ...

    def set_schema(self, schema_name: str, include_public: bool = True) -> None: ...

    def set_schema_to_public(self) -> None: ...


def tenant_connection() -> TenantConnection:
    """The default connection; schema switches on it apply to every ORM query of this thread."""
    return cast(TenantConnection, connection)


def insert_statement(instance: Model) -> tuple[str, list[Any]]:
    """`INSERT INTO <table> (<columns>) VALUES (...)` for an unsaved model instance (its auto primary
    key left to the database), to run inside another statement (see outbox.append.DeferredEvents)."""
    meta = instance._meta
    fields = [f for f in meta.concrete_fields if not isinstance(f, AutoField)]
    quote = connection.ops.quote_name
    columns = ", ".join(quote(cast(str, f.column)) for f in fields)
    placeholders = ", ".join(["%s"] * len(fields))
    params = [f.get_db_prep_save(f.pre_save(instance, add=True), connection) for f in fields]
    return f"INSERT INTO {quote(meta.db_table)} ({columns}) VALUES ({placeholders})", params
