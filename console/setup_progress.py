"""How far a tenant's self-serve setup got: link issued, opened, enrolled, connected, mapped, verified.

Read from what each step leaves behind: the public schema's setup links (issued, opened, enrolled),
connections (first request) and the wizard's ConnectionSetup (verified), and the tenant schema's
attribute and role mappings.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import IntEnum

from django.db.models import Min

from directory.models import AttributeMapping, GroupRoleMapping
from tenants.context import TenantRef, tenant_schema
from tenants.models import ConnectionSetup, ScimConnection, SetupLink


class SetupStage(IntEnum):
    NOT_STARTED = 0
    LINK_ISSUED = 1
    LINK_OPENED = 2
    ENROLLED = 3
    CONNECTED = 4
    MAPPED = 5
    VERIFIED = 6

    @property
    def label(self) -> str:
        return self.name.replace("_", " ").lower()


# A tenant is set up once its IdP has connected (mapping and verification are optional refinements):
# "setup stalled" means it has not got that far.
SETUP_DONE_STAGE = SetupStage.CONNECTED


@dataclass(frozen=True)
class SetupProgress:
    reached: dict[SetupStage, datetime | None]

    @property
    def stage(self) -> SetupStage:
        done = [stage for stage, at in self.reached.items() if at is not None]
        return max(done, default=SetupStage.NOT_STARTED)

    @property
    def updated_at(self) -> datetime | None:
        times = [at for at in self.reached.values() if at is not None]
        return max(times, default=None)

    def as_json(self) -> dict[str, str | None]:
        return {stage.name.lower(): (at.isoformat() if at else None) for stage, at in self.reached.items()}


def _link_opened_at(tenant: TenantRef) -> datetime | None:
    """When the IT admin first opened a setup link (the portal records it on the SetupLink)."""
    return SetupLink.objects.filter(tenant_id=tenant.id).aggregate(at=Min("opened_at"))["at"]


def _enrolled_at(tenant: TenantRef) -> datetime | None:
    """When the tenant's first admin finished account creation and TOTP enrolment."""
    return SetupLink.objects.filter(tenant_id=tenant.id).aggregate(at=Min("enrolled_at"))["at"]


def _verified_at(tenant: TenantRef) -> datetime | None:
    """When the wizard's test-user check first passed on one of the tenant's connections."""
    return ConnectionSetup.objects.filter(tenant_id=tenant.id).aggregate(at=Min("verified_at"))["at"]


def _mapped_at() -> datetime | None:
    """The tenant's first saved attribute or role mapping (current tenant schema)."""
    times = [
        AttributeMapping.objects.aggregate(at=Min("updated"))["at"],
        GroupRoleMapping.objects.aggregate(at=Min("created"))["at"],
    ]
    return min((t for t in times if t is not None), default=None)


def setup_progress(tenant: TenantRef) -> SetupProgress:
    """Each setup step with the time it was first reached (None: not yet)."""
    issued = SetupLink.objects.filter(tenant_id=tenant.id).aggregate(at=Min("created_at"))["at"]
    connected = ScimConnection.objects.filter(tenant_id=tenant.id).aggregate(at=Min("first_request_at"))["at"]
    with tenant_schema(tenant):
        mapped = _mapped_at()
    return SetupProgress(
        {
            SetupStage.LINK_ISSUED: issued,
            SetupStage.LINK_OPENED: _link_opened_at(tenant),
            SetupStage.ENROLLED: _enrolled_at(tenant),
            SetupStage.CONNECTED: connected,
            SetupStage.MAPPED: mapped,
            SetupStage.VERIFIED: _verified_at(tenant),
        }
    )
