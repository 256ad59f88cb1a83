"""The default database connection, typed as django-tenants' schema-switching wrapper."""

from __future__ import annotations

from typing import Any, Protocol, cast

from django.db import connection


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
