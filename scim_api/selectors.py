"""Reads of the current tenant's SCIM request log (for the portal's live checks and the console)."""

from __future__ import annotations

from typing import Any

from scim_api.models import RequestLog
from tenants.context import tenant_schema
from tenants.models import ScimConnection


def recent_requests(connection: ScimConnection, *, limit: int = 10) -> list[dict[str, Any]]:
    """The connection's latest requests, newest first (read in the connection's tenant schema)."""
    with tenant_schema(connection.tenant):
        rows = (
            RequestLog.objects.filter(connection_id=connection.id)
            .order_by("-id")
            .values("received_at", "method", "path", "status", "scim_type", "error_detail", "quirks")[:limit]
        )
        return [dict(row) for row in rows]
