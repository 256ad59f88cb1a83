"""Portal flows for tests: a connection taken through the wizard the way an admin does it, over HTTP,
with real SCIM requests from the IdP's side (tests.support.scim_client) and in-process drains."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.test import Client

from tenants.context import TenantRef
from tenants.models import ConnectionSetup, ScimConnection, Tenant
from tests.provisioning.support import drain
from tests.support.scim_client import ENTERPRISE, ScimClient

HTMX = {"HTTP_HX_REQUEST": "true"}
OKTA_UA = "Okta SCIM Client 1.0.0"


@dataclass
class Connected:
    """A connection past the live check: its id, the IdP's SCIM client, the tenant."""

    cid: str
    idp: ScimClient
    tenant: Tenant

    def drain(self) -> int:
        return drain(TenantRef.of(self.tenant))

    def url(self, step: str) -> str:
        return f"/portal/connections/{self.cid}/setup/{step}"

    def setup(self) -> ConnectionSetup:
        return ConnectionSetup.objects.get(connection_id=self.cid)


def start(client: Client, idp: str = "okta") -> str:
    response = client.post("/portal/setup/new", {"idp": idp})
    assert response.status_code == 302, response.content[:500]
    return ScimConnection.objects.order_by("-created_at").values_list("id", flat=True).first()  # type: ignore[return-value]


def token_for(client: Client, cid: str) -> str:
    client.post(f"/portal/connections/{cid}/setup/instructions")
    page = client.post(f"/portal/connections/{cid}/setup/credentials", {"action": "generate"}).content.decode()
    match = re.search(r'id="new-token" aria-label="Your new token" type="text" value="(rcs_[^"]+)"', page)
    assert match, page[:2000]
    return match.group(1)


def user_body(user_name: str, **extra: Any) -> dict[str, Any]:
    given, _, family = user_name.split("@")[0].partition(".")
    return {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": user_name,
        "name": {"givenName": given.title(), "familyName": (family or "Doe").title()},
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        "active": True,
        ENTERPRISE: {"department": "Engineering", "employeeNumber": "1001"},
        **extra,
    }


def connect(client: Client, tenant: Tenant, idp: str = "okta", *, first_user: str = "jane.doe@alpha.example") -> Connected:
    """Steps 1-4: the IdP, its steps, a token pasted, the connection test and a first user (step 5 reached)."""
    cid = start(client, idp)
    token = token_for(client, cid)
    client.post(f"/portal/connections/{cid}/setup/credentials", {"action": "pasted", "pasted": "on"})
    scim = ScimClient(cid, token, tenant, user_agent=OKTA_UA)
    assert scim.get("/Users?startIndex=1&count=2").status == 200
    created = scim.post("/Users", user_body(first_user))
    assert created.status == 201, created.body
    client.get(f"/portal/connections/{cid}/setup/live", headers={"HX-Request": "true"})  # records the milestones
    connected = Connected(cid, scim, tenant)
    assert connected.setup().step == ConnectionSetup.Step.MAPPING
    return connected


def through_mapping(client: Client, c: Connected) -> None:
    """Step 5 kept as it is (defaults)."""
    response = client.post(c.url("mapping"), {"action": "save"})
    assert response.status_code == 302, response.content[:800]


def through_roles(client: Client, c: Connected) -> None:
    response = client.post(c.url("roles"), {"action": "save", "default_role": ""})
    assert response.status_code == 302, response.content[:800]
