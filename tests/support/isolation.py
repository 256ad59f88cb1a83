"""Tenant isolation, checked after every HTTP and selector test: the second tenant sees nothing.

The test body writes to tenant A ("alpha"). Afterwards tenant B ("bravo") must have no users, groups,
events or request-log rows, and a SCIM client of B must get 404 for every resource A has."""

from __future__ import annotations

from directory.models import DirectoryGroup, DirectoryUser
from outbox.models import Event
from scim_api.models import RequestLog
from tenants.context import tenant_schema
from tenants.models import Tenant
from tests.support.scim_client import ScimClient
from tests.support.tenants import ensure_tenant

SAMPLE = 5  # resources of A probed through B's endpoint (each costs a request)


def assert_other_tenant_sees_nothing(tenant_a: Tenant) -> None:
    with tenant_schema(tenant_a):
        user_ids = [str(pk) for pk in DirectoryUser.objects.values_list("id", flat=True)[:SAMPLE]]
        group_ids = [str(pk) for pk in DirectoryGroup.objects.values_list("id", flat=True)[:SAMPLE]]
        wrote = bool(user_ids or group_ids) or Event.objects.exists()
    if not wrote:
        return
    tenant_b = ensure_tenant("bravo", "Bravo Inc")
    with tenant_schema(tenant_b):
        assert not DirectoryUser.objects.exists(), "tenant B has users it never received"
        assert not DirectoryGroup.objects.exists(), "tenant B has groups it never received"
        assert not Event.objects.exists(), "tenant B has outbox events of tenant A"
        assert not RequestLog.objects.exists(), "tenant B logged requests of tenant A"
    other = ScimClient.for_tenant(tenant_b)
    assert other.get("/Users?count=0").body["totalResults"] == 0
    assert other.get("/Groups?count=0").body["totalResults"] == 0
    for user_id in user_ids:
        assert other.get(f"/Users/{user_id}").status == 404, user_id
    for group_id in group_ids:
        assert other.get(f"/Groups/{group_id}").status == 404, group_id
