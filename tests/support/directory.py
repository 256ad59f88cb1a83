"""Directory writes for tests, through the real services (never hand-written rows)."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

from django.utils import timezone

from directory import roles
from directory.change import ChangeContext
from directory.groups import create_group, delete_group, update_group
from directory.models import DirectoryGroup, DirectoryUser, GroupRoleMapping
from directory.users import create_user, deactivate_user, delete_user, reactivate_user, update_user
from outbox.append import Actor
from scim.patch import MemberChange, apply_patch, parse_patch_request
from scim.quirks import QuirkLog
from scim.schema import USER

PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ADMIN = Actor(kind="portal", id="test-admin")


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
    """A SCIM PATCH applied the way the SCIM edge applies it (operations on the current document)."""
    ops = parse_patch_request({"schemas": [PATCH_OP], "Operations": list(operations)}, QuirkLog())
    return update_user(
        user_id=str(user_id), change=lambda doc: apply_patch(doc, ops, USER, QuirkLog()), ctx=scim_ctx(requested_at)
    )


def set_active(user_id: Any, active: bool, *, requested_at: Any = None) -> DirectoryUser:
    service = reactivate_user if active else deactivate_user
    return service(user_id=str(user_id), ctx=scim_ctx(requested_at))


def remove_user(user_id: Any, *, requested_at: Any = None) -> None:
    delete_user(user_id=str(user_id), ctx=scim_ctx(requested_at))


def make_group(name: str, members: Iterable[Any] = (), groups: Iterable[Any] = ()) -> DirectoryGroup:
    value = [{"value": str(m)} for m in members] + [{"value": str(g), "type": "Group"} for g in groups]
    return create_group(resource={"displayName": name, "members": value}, ctx=scim_ctx())


def change_members(group_id: Any, op: str, member_id: Any, *, member_type: str = "User") -> DirectoryGroup:
    member = {"value": str(member_id)} | ({"type": "Group"} if member_type == "Group" else {})
    change = MemberChange(kind="add" if op == "add" else "remove", members=(member,))
    return update_group(group_id=str(group_id), ctx=scim_ctx(), member_changes=[change])


def remove_group(group_id: Any) -> None:
    delete_group(group_id=str(group_id), ctx=scim_ctx())


def map_group(group: DirectoryGroup, role_key: str) -> GroupRoleMapping:
    """Map the group through the service (the pipeline then recomputes its users)."""
    return roles.map_group_to_role(group_id=group.id, role_key=role_key, actor=ADMIN)
