"""Effective roles and seats: recompute grants from group mappings, emit role.changed on change.

effective role = the highest-precedence role mapped from any of the user's groups (direct or
nested), else the tenant's `default_role` setting, else none. Inactive users hold no grant.
Called by handlers inside the event's transaction; the portal calls `recompute_for_group` after
editing a mapping.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone

from directory.models import DirectoryUser, GroupRoleMapping, Role, RoleGrant
from directory.selectors import groups_of_users
from directory.users import user_payload
from provisioning import selectors
from provisioning.event_types import EventType
from provisioning.outbox import Actor, NewEvent, append_events
from provisioning.tenancy import TenantRef

DEFAULT_SOURCE = "default"


@dataclass(frozen=True)
class RoleChange:
    user_id: uuid.UUID
    previous: str | None
    current: str | None
    source: str


def _role_event(user: DirectoryUser | None, user_id: uuid.UUID, change: RoleChange, cause_seq: int | None) -> NewEvent:
    payload = {
        "user": user_payload(user) if user is not None else {"id": str(user_id)},
        "previous_role": change.previous,
        "role": change.current,
        "source": change.source,
        "cause_seq": cause_seq,
    }
    return NewEvent(EventType.ROLE_CHANGED, "User", str(user_id), payload)


def effective_roles(users: Iterable[DirectoryUser], tenant: TenantRef) -> dict[uuid.UUID, tuple[Role | None, str]]:
    """The role each user should hold and why ("group:<id>" or "default"), in three queries."""
    users = list(users)
    active_ids = [u.id for u in users if u.active]
    memberships = groups_of_users(active_ids)
    group_ids = {g["group_id"] for groups in memberships.values() for g in groups}
    mapped: dict[uuid.UUID, list[Role]] = defaultdict(list)
    for mapping in GroupRoleMapping.objects.filter(group_id__in=group_ids).select_related("role"):
        mapped[mapping.group_id].append(mapping.role)
    default_key = tenant.settings.get("default_role")
    default = Role.objects.filter(key=default_key).first() if default_key else None
    result: dict[uuid.UUID, tuple[Role | None, str]] = {}
    for user in users:
        if not user.active:
            result[user.id] = (None, "")
            continue
        best: tuple[Role, str] | None = None
        for group in memberships.get(user.id, []):
            for role in mapped.get(group["group_id"], []):
                if best is None or (role.precedence, role.key) > (best[0].precedence, best[0].key):
                    best = (role, f"group:{group['group_id']}")
        result[user.id] = best if best is not None else ((default, DEFAULT_SOURCE) if default else (None, ""))
    return result


def recompute_roles(
    user_ids: Iterable[uuid.UUID | str], *, tenant: TenantRef, actor: Actor, cause_seq: int | None = None
) -> list[RoleChange]:
    """Bring the users' RoleGrants in line with their groups; append role.changed for each real change."""
    ids = {uuid.UUID(str(i)) for i in user_ids}
    if not ids:
        return []
    users = list(DirectoryUser.objects.filter(id__in=ids))
    wanted = effective_roles(users, tenant)
    current = {g.user_id: g for g in RoleGrant.objects.filter(user_id__in=ids).select_related("role")}
    now = timezone.now()
    upserts: list[RoleGrant] = []
    removals: list[uuid.UUID] = []
    changes: list[tuple[DirectoryUser, RoleChange]] = []
    for user in users:
        role, source = wanted[user.id]
        grant = current.get(user.id)
        previous = grant.role.key if grant else None
        if role is None:
            if grant is not None:
                removals.append(user.id)
                changes.append((user, RoleChange(user.id, previous, None, "")))
            continue
        if grant is not None and grant.role_id == role.id:
            if grant.source != source:  # same role, another reason: keep the grant accurate, no event
                upserts.append(RoleGrant(user_id=user.id, role=role, source=source, granted_at=grant.granted_at))
            continue
        upserts.append(RoleGrant(user_id=user.id, role=role, source=source, granted_at=now))
        changes.append((user, RoleChange(user.id, previous, role.key, source)))
    if removals:
        RoleGrant.objects.filter(user_id__in=removals).delete()
    if upserts:
        RoleGrant.objects.bulk_create(
            upserts,
            update_conflicts=True,
            unique_fields=["user"],
            update_fields=["role", "source", "granted_at"],
        )
    append_events([_role_event(user, user.id, change, cause_seq) for user, change in changes], actor=actor)
    return [change for _, change in changes]


def revoke_grant(user_id: uuid.UUID | str, *, actor: Actor, cause_seq: int | None = None) -> RoleChange | None:
    """Remove the user's grant whatever their groups say (offboarding); role.changed if there was one."""
    pk = uuid.UUID(str(user_id))
    grant = RoleGrant.objects.select_related("role", "user").filter(user_id=pk).first()
    if grant is None:
        return None
    grant.delete()
    change = RoleChange(pk, grant.role.key, None, "")
    append_events([_role_event(grant.user, pk, change, cause_seq)], actor=actor)
    return change


def forget_deleted_user(user_id: str, *, actor: Actor, cause_seq: int) -> RoleChange | None:
    """A deleted user's grant went with the user row; announce the loss of the role it last held."""
    previous = selectors.last_role_of(user_id, before_seq=cause_seq)
    if previous is None:
        return None
    pk = uuid.UUID(user_id)
    change = RoleChange(pk, previous, None, "")
    append_events([_role_event(None, pk, change, cause_seq)], actor=actor)
    return change


def recompute_for_group(group_id: uuid.UUID | str, *, tenant: TenantRef, actor: Actor) -> list[RoleChange]:
    """After a group's role mapping changed: recompute everyone in or under the group."""
    users = selectors.users_under_groups([uuid.UUID(str(group_id))])
    return recompute_roles(users, tenant=tenant, actor=actor)


def recompute_all(*, tenant: TenantRef, actor: Actor) -> list[RoleChange]:
    """After the default role changed: recompute every user (bulk queries, not one per user)."""
    ids = list(DirectoryUser.objects.values_list("id", flat=True))
    return recompute_roles(ids, tenant=tenant, actor=actor)


def users_holding_grants() -> list[uuid.UUID]:
    return list(RoleGrant.objects.values_list("user_id", flat=True))
