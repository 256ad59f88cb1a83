"""The directory as a replay leaves it: users, groups, memberships and role grants, by name."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from django.utils import timezone

from directory.models import DirectoryGroup, DirectoryUser, GroupRoleMapping, Membership, Role, RoleGrant
from directory.roles import recompute_roles
from outbox.append import Actor
from tenants.context import TenantRef
from tenants.models import Tenant


@dataclass(frozen=True)
class DirectoryState:
    users: dict[str, bool]  # userName (lower-cased) -> active
    groups: list[str]  # displayNames
    memberships: set[tuple[str, str]]  # (group displayName, userName lower-cased)
    grants: dict[str, str]  # userName (lower-cased) -> role key


def directory_state() -> DirectoryState:
    """Read the current tenant schema's directory (the ScimClient leaves it selected)."""
    users = dict(DirectoryUser.objects.values_list("user_name", "active"))
    members = Membership.objects.filter(user__isnull=False).values_list("group__display_name", "user__user_name")
    grants = RoleGrant.objects.values_list("user__user_name", "role__key")
    return DirectoryState(
        users={name.lower(): active for name, active in users.items()},
        groups=sorted(DirectoryGroup.objects.values_list("display_name", flat=True)),
        memberships={(group, user.lower()) for group, user in members},
        grants={user.lower(): role for user, role in grants},
    )


def map_group_to_role(group_id: str, role_key: str) -> None:
    # There is no portal service for editing mappings yet; this is the row it will write.
    GroupRoleMapping.objects.create(group_id=uuid.UUID(group_id), role=Role.objects.get(key=role_key))


def recompute_roles_as_handler(tenant: Tenant, *user_ids: str) -> None:
    """What the role_recompute handler does for a membership or (re)activation event, synchronously."""
    actor = Actor(kind="system", id="replay-test", requested_at=timezone.now())
    recompute_roles(user_ids, tenant=TenantRef.of(tenant), actor=actor)
