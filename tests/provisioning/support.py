"""Pipeline test helpers: directory writes through the real services, draining a tenant in-process."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import Any

from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from directory.groups import create_group, delete_group, patch_group
from directory.models import DirectoryGroup, DirectoryUser, GroupRoleMapping, Role
from directory.users import ChangeContext, create_user, delete_user, patch_user
from provisioning import dispatcher, emails
from provisioning.models import Event
from provisioning.outbox import Actor
from provisioning.tenancy import TenantRef, tenant_schema
from scim.patch import parse_patch_request
from scim.quirks import QuirkLog
from tests.provisioning.infra import wait_for, webhook_receiver

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
__all__ = ["wait_for", "webhook_receiver"]


# --------------------------------------------------------------------------- directory writes


def scim_ctx(requested_at: Any = None) -> ChangeContext:
    actor = Actor(kind="scim", id="test-connection", request_id=uuid.uuid4().hex, requested_at=requested_at or timezone.now())
    return ChangeContext(actor=actor, idp="generic")


def make_user(
    user_name: str, *, email: str | None = None, active: bool = True, given: str = "Ada", title: str | None = None, **ctx: Any
) -> DirectoryUser:
    resource: dict[str, Any] = {
        "userName": user_name,
        "active": active,
        "name": {"givenName": given, "familyName": "Lovelace"},
        "emails": [{"value": email or user_name, "type": "work", "primary": True}],
    }
    if title:
        resource["title"] = title
    return create_user(resource=resource, ctx=scim_ctx(**ctx))


def patch_user_ops(user_id: Any, *operations: dict[str, Any], requested_at: Any = None) -> DirectoryUser:
    ops = parse_patch_request({"schemas": [PATCH_OP], "Operations": list(operations)}, QuirkLog())
    return patch_user(user_id=str(user_id), operations=ops, if_match=None, ctx=scim_ctx(requested_at), quirks=QuirkLog())


def set_active(user_id: Any, active: bool, *, requested_at: Any = None) -> DirectoryUser:
    return patch_user_ops(user_id, {"op": "replace", "path": "active", "value": active}, requested_at=requested_at)


def remove_user(user_id: Any, *, requested_at: Any = None) -> None:
    delete_user(user_id=str(user_id), if_match=None, ctx=scim_ctx(requested_at))


def make_group(name: str, members: Iterable[Any] = (), groups: Iterable[Any] = ()) -> DirectoryGroup:
    value = [{"value": str(m)} for m in members] + [{"value": str(g), "type": "Group"} for g in groups]
    return create_group(resource={"displayName": name, "members": value}, ctx=scim_ctx())


def change_members(group_id: Any, op: str, member_id: Any, *, member_type: str = "User") -> DirectoryGroup:
    member = {"value": str(member_id)} | ({"type": "Group"} if member_type == "Group" else {})
    operation = {"op": op, "path": "members", "value": [member]} if op == "add" else {
        "op": "remove",
        "path": f'members[value eq "{member_id}"]',
    }
    ops = parse_patch_request({"schemas": [PATCH_OP], "Operations": [operation]}, QuirkLog())
    return patch_group(group_id=str(group_id), operations=ops, if_match=None, ctx=scim_ctx(), quirks=QuirkLog())


def remove_group(group_id: Any) -> None:
    delete_group(group_id=str(group_id), if_match=None, ctx=scim_ctx())


def map_group(group: DirectoryGroup, role_key: str) -> GroupRoleMapping:
    # No portal service yet for editing mappings; the row is what that service will write.
    return GroupRoleMapping.objects.create(group=group, role=Role.objects.get(key=role_key))


def drain(tenant: TenantRef, *, rounds: int = 10) -> int:
    """Run the dispatcher in-process until the tenant has nothing ready to handle, then send the
    outbox emails (what the worker's send task does after commit)."""
    handled = 0
    for _ in range(rounds):
        result = dispatcher.dispatch_tenant(tenant.schema_name)
        handled += result.handled
        if result.handled == 0 or result.failed_seq is not None:
            break
    send_mail(tenant)
    return handled


def send_mail(tenant: TenantRef) -> int:
    """Send the tenant's outbox emails in-process (tests run inside a transaction that never commits)."""
    with tenant_schema(tenant):
        return emails.send_pending().sent


def events_of(tenant: TenantRef, *types: str) -> list[Event]:
    with tenant_schema(tenant):
        qs = Event.objects.order_by("seq")
        return list(qs.filter(type__in=types) if types else qs)




@contextmanager
def max_queries(limit: int) -> Iterator[list[str]]:
    """Assert at most `limit` SQL statements, not counting django-tenants' `SET search_path`."""
    with CaptureQueriesContext(connection) as context:
        statements: list[str] = []
        yield statements
    statements += [q["sql"] for q in context.captured_queries if not q["sql"].startswith("SET search_path")]
    assert len(statements) <= limit, f"{len(statements)} queries > {limit}:\n" + "\n".join(s[:200] for s in statements)


class RefusingEmailBackend:
    """An email backend whose server is down (settings.EMAIL_BACKEND in tests)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __enter__(self) -> RefusingEmailBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def send_messages(self, messages: Any) -> int:
        raise ConnectionRefusedError("smtp down")
