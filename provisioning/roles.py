"""Effective roles and seats: recompute grants from group mappings, emit role.changed on change.

effective role = the highest-precedence role mapped from any of the user's groups (direct or
nested), else the tenant's `default_role` setting, else none. Inactive users hold no grant.
Called by handlers inside the event's transaction; the portal calls `recompute_for_group` after
editing a mapping.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from dataclasses import dataclass

from django.utils import timezone

from directory.models import DirectoryUser, Role, RoleGrant
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


def recompute_roles(
    user_ids: Iterable[uuid.UUID | str], *, tenant: TenantRef, actor: Actor, cause_seq: int | None = None
) -> list[RoleChange]:
    """Bring the users' RoleGrants in line with their groups; append role.changed for each real change.

    Constant query count: one to read targets and grants, then writes only for what changed."""
    ids = sorted({uuid.UUID(str(i)) for i in user_ids})
    if not ids:
        return []
    targets = selectors.role_targets(ids)
    default = _default_role(tenant) if any(t.active and t.mapped_role_id is None for t in targets) else None
    now = timezone.now()
    upserts: list[RoleGrant] = []
    removals: list[uuid.UUID] = []
    changes: list[RoleChange] = []
    for t in targets:
        if not t.active:
            wanted: tuple[int, str, str] | None = None
        elif t.mapped_role_id is not None:
            wanted = (t.mapped_role_id, str(t.mapped_role_key), f"group:{t.mapped_group_id}")
        elif default is not None:
            wanted = (default.id, default.key, DEFAULT_SOURCE)
        else:
            wanted = None
        if wanted is None:
            if t.current_role_id is not None:
                removals.append(t.user_id)
                changes.append(RoleChange(t.user_id, t.current_role_key, None, ""))
            continue
        role_id, role_key, source = wanted
        if t.current_role_id == role_id:
            if t.current_source != source:  # same role, another reason: keep the grant accurate, no event
                RoleGrant.objects.filter(user_id=t.user_id).update(source=source)
            continue
        upserts.append(RoleGrant(user_id=t.user_id, role_id=role_id, source=source, granted_at=now))
        changes.append(RoleChange(t.user_id, t.current_role_key, role_key, source))
    if removals:
        RoleGrant.objects.filter(user_id__in=removals).delete()
    if upserts:
        RoleGrant.objects.bulk_create(
            upserts,
            update_conflicts=True,
            unique_fields=["user"],
            update_fields=["role", "source", "granted_at"],
        )
    if changes:
        users = DirectoryUser.objects.in_bulk([c.user_id for c in changes])
        append_events([_role_event(users.get(c.user_id), c.user_id, c, cause_seq) for c in changes], actor=actor)
    return changes


def _default_role(tenant: TenantRef) -> Role | None:
    key = tenant.settings.get("default_role")
    return Role.objects.filter(key=key).first() if key else None


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
