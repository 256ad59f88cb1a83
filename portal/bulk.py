"""Long portal work that runs in the worker as jobs of the shared job system (tenants.jobs).

Deactivating the users of a deleted connection runs directory.connection_users.deactivate_connection_users
batch by batch (each user offboarded with its proof), never in the request.
"""

from __future__ import annotations

from tenants.models import Tenant

DEACTIVATE_KIND = "deactivate_connection_users"


def start_connection_deactivation(tenant: Tenant, *, connection_id: str, idp: str, requested_by: str) -> str:
    """Queue the deactivation of every active user the connection provisioned; the job id."""
    raise NotImplementedError("needs the job system of the console branch (tenants.jobs)")
