"""A small SCIM client over Django's test client, speaking application/scim+json."""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from django.test import Client

from tenants.context import tenant_schema
from tenants.db import tenant_connection
from tenants.models import Tenant
from tenants.services import create_connection
from tests.support.actors import TEST_ACTOR

SCIM_JSON = "application/scim+json"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: Any

    def __getitem__(self, key: str) -> Any:
        return self.body[key]


class ScimClient:
    """Sends SCIM requests through Django's test client, as an IdP would, and leaves the caller's
    database schema as it found it. Inspect the tenant's directory inside `with client.in_tenant():`."""

    def __init__(self, connection_id: str, token: str, tenant: Tenant, user_agent: str = "rollcall-tests") -> None:
        self.connection_id = connection_id
        self.token = token
        self.tenant = tenant
        self.base = f"/scim/v2/{connection_id}"
        self.client = Client()
        self.user_agent = user_agent
        # The source address the server sees. Rate limits count per address in the shared Redis, so each
        # client is an address of its own: no test inherits another's windows.
        self.remote_addr = f"10.{secrets.randbelow(250)}.{secrets.randbelow(250)}.{secrets.randbelow(250) + 1}"

    @classmethod
    def for_tenant(cls, tenant: Tenant, idp: str = "generic") -> ScimClient:
        issued = create_connection(tenant=tenant, idp=idp, actor=TEST_ACTOR)
        return cls(issued.connection.id, issued.token, tenant)

    @contextmanager
    def in_tenant(self) -> Iterator[None]:
        """This client's tenant schema for the block (restored afterwards)."""
        with tenant_schema(self.tenant):
            yield

    def request(
        self,
        method: str,
        path: str,
        body: Any = None,
        *,
        token: str | None = None,
        headers: dict[str, str | None] | None = None,
        raw: bytes | str | None = None,
        content_type: str = SCIM_JSON,
    ) -> Response:
        extra: dict[str, str | None] = {
            "HTTP_AUTHORIZATION": f"Bearer {self.token if token is None else token}",
            "HTTP_USER_AGENT": self.user_agent,
            "REMOTE_ADDR": self.remote_addr,
        }
        for name, value in (headers or {}).items():
            if name.lower() == "authorization" and value is None:
                extra.pop("HTTP_AUTHORIZATION")  # send no Authorization header at all
                continue
            key = name.upper().replace("-", "_")
            extra[key if key in {"CONTENT_TYPE", "CONTENT_LENGTH"} else "HTTP_" + key] = value
        url = path if path.startswith("/scim/") else self.base + path
        data: Any = raw if raw is not None else (json.dumps(body) if body is not None else None)
        kwargs: dict[str, Any] = {}
        if data is not None:
            kwargs = {"data": data, "content_type": content_type}
        caller_schema = tenant_connection().schema_name
        response = self.client.generic(method, url, **kwargs, **extra)  # type: ignore[arg-type]
        tenant_connection().set_schema(caller_schema)  # the view ends in the public schema
        text = response.content.decode() if response.content else ""
        parsed = json.loads(text) if text else None
        return Response(response.status_code, {k: v for k, v in response.items()}, parsed)

    def get(self, path: str, **kw: Any) -> Response:
        return self.request("GET", path, **kw)

    def post(self, path: str, body: Any = None, **kw: Any) -> Response:
        return self.request("POST", path, body, **kw)

    def put(self, path: str, body: Any = None, **kw: Any) -> Response:
        return self.request("PUT", path, body, **kw)

    def patch(self, path: str, body: Any = None, **kw: Any) -> Response:
        return self.request("PATCH", path, body, **kw)

    def delete(self, path: str, **kw: Any) -> Response:
        return self.request("DELETE", path, **kw)

    # -- conveniences ---------------------------------------------------------------------
    def create_user(self, user_name: str, **attrs: Any) -> Response:
        body = {"schemas": [USER_SCHEMA], "userName": user_name, **attrs}
        return self.post("/Users", body)

    def create_group(self, display_name: str, members: list[str] | None = None, **attrs: Any) -> Response:
        body = {
            "schemas": [GROUP_SCHEMA],
            "displayName": display_name,
            "members": [{"value": m} for m in (members or [])],
            **attrs,
        }
        return self.post("/Groups", body)

    def patch_ops(self, path: str, *operations: dict[str, Any], **kw: Any) -> Response:
        return self.patch(path, {"schemas": [PATCH_OP], "Operations": list(operations)}, **kw)
