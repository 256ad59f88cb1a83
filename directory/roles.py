"""Roles, grants and seats: who holds which app role, and why.

effective role = the highest-precedence role mapped from any of the user's groups (direct or nested),
else the tenant's `default_role` setting, else none. Inactive users hold no grant (so no seat). A
grant made by hand (source "manual") is never changed by a recompute; offboarding still removes it.

Mapping edits (`map_group_to_role`, `unmap_group`, `set_default_role`) write the mapping and append
role.mapping_changed; the pipeline's role handler then recomputes the affected users, so a mapping
that covers 100,000 users never runs inside a web request. `preview_seats` answers "what would these
mappings bill?" from the real memberships before anything is saved.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Count, Max
from django.utils import timezone

from directory.admin_audit import audit_admin_change
from directory.errors import InvalidValue, NotFound
from directory.models import DirectoryGroup, DirectoryUser, GroupRoleMapping, Role, RoleGrant
from directory.nesting import groups_above_users_cte, params, users_under_groups
from directory.payloads import user_payload
from outbox.append import Actor, NewEvent, append_events
from outbox.event_types import EventType
from outbox.selectors import latest_event_payload
from tenants.audit import AuditEventType
from tenants.context import TenantRef
from tenants.models import Tenant
from tenants.services import update_tenant_settings

DEFAULT_SOURCE = "default"
MANUAL_SOURCE = "manual"
GROUP_SOURCE_PREFIX = "group:"
ROLE_KEY_RE = re.compile(r"^[a-z][a-z0-9_-]{1,62}$")

# For each user: whether active, the best role mapped from any group reached directly or through
# nested groups (highest precedence, then key; the lowest group id names the source), and the
# grant the user holds now. One round trip whatever the number of users.
_ROLE_TARGETS_SQL = """
WITH RECURSIVE {walk_up},
best AS (
    SELECT DISTINCT ON (w.origin) w.origin AS user_id, ro.id AS role_id, ro.key AS role_key, w.group_id
    FROM walk_up w
    JOIN directory_grouprolemapping gm ON gm.group_id = w.group_id
    JOIN directory_role ro ON ro.id = gm.role_id
    ORDER BY w.origin, ro.precedence DESC, ro.key DESC, w.group_id
)
SELECT u.id, u.active, b.role_id, b.role_key, b.group_id, g.role_id, cr.key, g.source
FROM directory_directoryuser u
LEFT JOIN best b ON b.user_id = u.id
LEFT JOIN directory_rolegrant g ON g.user_id = u.id
LEFT JOIN directory_role cr ON cr.id = g.role_id
WHERE u.id = ANY(%(ids)s::uuid[])
"""

# The same, for every active user, with the mapping given as a list of (group, role) pairs instead of
# the saved one: what a proposed mapping would grant (seat preview).
_PROPOSED_ROLES_SQL = """
WITH RECURSIVE walk_up(origin, group_id, depth) AS (
    SELECT m.user_id, m.group_id, 0 FROM directory_membership m
    JOIN directory_directoryuser u ON u.id = m.user_id AND u.active
    UNION
    SELECT w.origin, p.group_id, w.depth + 1
    FROM walk_up w JOIN directory_membership p ON p.child_group_id = w.group_id
    WHERE w.depth < %(depth)s
),
proposed(group_id, role_id) AS (
    SELECT * FROM unnest(%(groups)s::uuid[], %(roles)s::bigint[])
),
best AS (
    SELECT DISTINCT ON (w.origin) w.origin AS user_id, ro.id AS role_id
    FROM walk_up w JOIN proposed p ON p.group_id = w.group_id JOIN directory_role ro ON ro.id = p.role_id
    ORDER BY w.origin, ro.precedence DESC, ro.key DESC
)
SELECT u.id, b.role_id, g.role_id, g.source
FROM directory_directoryuser u
LEFT JOIN best b ON b.user_id = u.id
LEFT JOIN directory_rolegrant g ON g.user_id = u.id
WHERE u.active
"""


@dataclass(frozen=True)
class RoleTarget:
    user_id: uuid.UUID
    active: bool
    mapped_role_id: int | None
    mapped_role_key: str | None
    mapped_group_id: uuid.UUID | None
    current_role_id: int | None
    current_role_key: str | None
    current_source: str | None


def role_targets(user_ids: Sequence[uuid.UUID]) -> list[RoleTarget]:
    """What role each existing user should hold from their groups, next to what they hold."""
    if not user_ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_ROLE_TARGETS_SQL.format(walk_up=groups_above_users_cte()), params(user_ids))
        return [RoleTarget(*row) for row in cursor.fetchall()]


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


def default_role_of(tenant: TenantRef, *, override: str | None = None) -> Role | None:
    key = override if override is not None else tenant.settings.get("default_role")
    return Role.objects.filter(key=key).first() if key else None


@dataclass(frozen=True)
class RoleCause:
    """The event a user's role change answers: its seq and the actor of the events it appends."""

    seq: int | None
    actor: Actor


def recompute_roles(
    user_ids: Iterable[uuid.UUID | str],
    *,
    tenant: TenantRef,
    actor: Actor,
    cause_seq: int | None = None,
    default_role: str | None = None,
    causes: Mapping[uuid.UUID, RoleCause] | None = None,
) -> list[RoleChange]:
    """Bring the users' grants in line with their groups; append role.changed for each real change.

    `default_role` overrides the tenant's setting ("" for none): the event that changed it carries the
    new value, which a worker's cached tenant settings may not show yet. `causes` names, per user, the
    event their change answers (the pipeline recomputes a whole transaction's users at once); others
    get `cause_seq` and `actor`. Constant query count: one to read targets and grants, then writes
    only for what changed."""
    ids = sorted({uuid.UUID(str(i)) for i in user_ids})
    if not ids:
        return []
    targets = role_targets(ids)
    needs_default = any(t.active and t.mapped_role_id is None for t in targets)
    default = default_role_of(tenant, override=default_role) if needs_default else None
    now = timezone.now()
    upserts: list[RoleGrant] = []
    removals: list[uuid.UUID] = []
    changes: list[RoleChange] = []
    for t in targets:
        if t.current_source == MANUAL_SOURCE and t.active:
            continue  # an admin's own decision; mappings never override it
        if not t.active:
            wanted: tuple[int, str, str] | None = None
        elif t.mapped_role_id is not None:
            wanted = (t.mapped_role_id, str(t.mapped_role_key), f"{GROUP_SOURCE_PREFIX}{t.mapped_group_id}")
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
        fallback = RoleCause(cause_seq, actor)
        by_actor: dict[Actor, list[NewEvent]] = {}
        for c in changes:
            cause = causes.get(c.user_id, fallback) if causes else fallback
            by_actor.setdefault(cause.actor, []).append(_role_event(users.get(c.user_id), c.user_id, c, cause.seq))
        for cause_actor, events in by_actor.items():
            append_events(events, actor=cause_actor)
    return changes


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


def last_granted_role(user_id: str, *, before_seq: int) -> str | None:
    """The role the pipeline last granted the user, per the outbox (role.changed is the record)."""
    payload = latest_event_payload(
        resource_type="User", resource_id=user_id, event_type=EventType.ROLE_CHANGED.value, before_seq=before_seq
    )
    return None if payload is None else payload.get("role")


def forget_deleted_user(user_id: str, *, actor: Actor, cause_seq: int) -> RoleChange | None:
    """A deleted user's grant went with the user row; announce the loss of the role it last held."""
    previous = last_granted_role(user_id, before_seq=cause_seq)
    if previous is None:
        return None
    pk = uuid.UUID(user_id)
    change = RoleChange(pk, previous, None, "")
    append_events([_role_event(None, pk, change, cause_seq)], actor=actor)
    return change


def recompute_for_group(group_id: uuid.UUID | str, *, tenant: TenantRef, actor: Actor) -> list[RoleChange]:
    """After a group's role mapping changed: recompute everyone in or under the group."""
    return recompute_roles(users_under_groups([uuid.UUID(str(group_id))]), tenant=tenant, actor=actor)


def recompute_all(*, tenant: TenantRef, actor: Actor, default_role: str | None = None) -> list[RoleChange]:
    """After the default role or the role order changed: recompute every user (bulk queries)."""
    ids = list(DirectoryUser.objects.values_list("id", flat=True))
    return recompute_roles(ids, tenant=tenant, actor=actor, default_role=default_role)


def users_holding_grants() -> list[uuid.UUID]:
    return list(RoleGrant.objects.values_list("user_id", flat=True))


# --------------------------------------------------------------------------- seats


@dataclass(frozen=True)
class SeatCount:
    role: str
    name: str
    billable: bool
    seats: int


def seat_counts() -> list[SeatCount]:
    """Seats per role (every role listed, zero included). Deactivated users hold no grant, so no seat."""
    counts = dict(
        RoleGrant.objects.filter(user__active=True).values("role_id").annotate(n=Count("id")).values_list("role_id", "n")
    )
    return [
        SeatCount(role=r.key, name=r.name, billable=r.billable, seats=counts.get(r.id, 0))
        for r in Role.objects.order_by("-precedence", "key")
    ]


def billable_seats() -> int:
    return sum(s.seats for s in seat_counts() if s.billable)


@dataclass(frozen=True)
class SeatPreviewRow:
    role: str
    name: str
    billable: bool
    now: int
    proposed: int


@dataclass(frozen=True)
class SeatPreview:
    """What a set of group mappings (and default role) would grant, next to what is granted now."""

    rows: list[SeatPreviewRow]
    active_users: int
    users_changing: int  # active users whose role would differ
    users_losing_role: int  # active users who hold a role now and would hold none

    @property
    def billable_now(self) -> int:
        return sum(r.now for r in self.rows if r.billable)

    @property
    def billable_proposed(self) -> int:
        return sum(r.proposed for r in self.rows if r.billable)

    @property
    def needs_confirmation(self) -> bool:
        """A change that takes roles from more than 10 % of users, or from 20 or more, must be confirmed."""
        return self.users_losing_role >= 20 or (
            self.active_users > 0 and self.users_losing_role * 10 > self.active_users
        )


def preview_seats(mappings: Mapping[str, str | None], *, default_role: str | None) -> SeatPreview:
    """Seats per role if the groups were mapped as given (group id -> role key, None = unmapped) and
    `default_role` applied to everyone else; manual grants stay as they are. Writes nothing."""
    roles = {r.key: r for r in Role.objects.order_by("-precedence", "key")}
    groups: list[str] = []
    role_ids: list[int] = []
    for group_id, role_key in mappings.items():
        if role_key is None:
            continue
        if role_key not in roles:
            raise InvalidValue(f"unknown role {role_key!r}", field=str(group_id))
        groups.append(str(group_id))
        role_ids.append(roles[role_key].id)
    if default_role is not None and default_role not in roles:
        raise InvalidValue(f"unknown role {default_role!r}", field="default_role")
    default_id = roles[default_role].id if default_role else None
    by_id = {r.id: r for r in roles.values()}
    now_counts: dict[int, int] = {}
    proposed_counts: dict[int, int] = {}
    changing = losing = total = 0
    with connection.cursor() as cursor:
        cursor.execute(_PROPOSED_ROLES_SQL, params([], groups=groups, roles=role_ids))
        for _user_id, mapped_role, current_role, source in cursor.fetchall():
            total += 1
            proposed = current_role if source == MANUAL_SOURCE else (mapped_role or default_id)
            if current_role is not None:
                now_counts[current_role] = now_counts.get(current_role, 0) + 1
            if proposed is not None:
                proposed_counts[proposed] = proposed_counts.get(proposed, 0) + 1
            if proposed != current_role:
                changing += 1
                if proposed is None:
                    losing += 1
    rows = [
        SeatPreviewRow(r.key, r.name, r.billable, now_counts.get(r.id, 0), proposed_counts.get(r.id, 0))
        for r in by_id.values()
    ]
    return SeatPreview(rows=rows, active_users=total, users_changing=changing, users_losing_role=losing)


def current_group_mappings() -> dict[str, str]:
    """group id -> role key of every saved mapping (one role per group)."""
    return {str(g): k for g, k in GroupRoleMapping.objects.values_list("group_id", "role__key")}


# --------------------------------------------------------------------------- editing roles and mappings


def _mapping_changed(group_id: uuid.UUID | None, *, actor: Actor, role: str | None, previous: str | None) -> None:
    payload = {"group_id": str(group_id) if group_id else None, "role": role, "previous_role": previous}
    append_events([NewEvent(EventType.ROLE_MAPPING_CHANGED, "Group", str(group_id or ""), payload)], actor=actor)
    if group_id is not None:
        audit_admin_change(
            actor, AuditEventType.ROLE_MAPPING_CHANGED, target_type="group", target_id=str(group_id), data=payload
        )


def set_default_role(*, tenant: Tenant, role_key: str | None, actor: Actor) -> None:
    """The role of users in no mapped group (None: no role). The pipeline recomputes everyone."""
    if role_key is not None and not Role.objects.filter(key=role_key).exists():
        raise NotFound("Role", role_key)
    with transaction.atomic():
        previous = (tenant.settings or {}).get("default_role")
        if previous == role_key:
            return
        update_tenant_settings(tenant=tenant, default_role=role_key)
        payload = {"group_id": None, "default_role": role_key, "previous_default_role": previous}
        append_events([NewEvent(EventType.ROLE_MAPPING_CHANGED, "Group", "", payload)], actor=actor)
        audit_admin_change(
            actor, AuditEventType.DEFAULT_ROLE_CHANGED, target_type="role", target_id=role_key or "",
            data={"role": role_key, "previous_role": previous},
        )


def map_group_to_role(*, group_id: uuid.UUID | str, role_key: str, actor: Actor) -> GroupRoleMapping:
    """Grant `role_key` to everyone in (or under) the group, replacing the group's previous role.

    The recompute happens in the pipeline (role.mapping_changed); manual grants are never touched."""
    with transaction.atomic():
        group = DirectoryGroup.objects.filter(pk=group_id).first()
        if group is None:
            raise NotFound("Group", str(group_id))
        role = Role.objects.filter(key=role_key).first()
        if role is None:
            raise NotFound("Role", role_key)
        previous = current_group_mappings().get(str(group.pk))
        if previous == role_key:
            return GroupRoleMapping.objects.get(group=group, role=role)
        GroupRoleMapping.objects.filter(group=group).delete()
        mapping = GroupRoleMapping.objects.create(group=group, role=role)
        _mapping_changed(group.pk, actor=actor, role=role_key, previous=previous)
    return mapping


def unmap_group(*, group_id: uuid.UUID | str, actor: Actor) -> bool:
    """Stop granting a role through the group. False when it was not mapped."""
    with transaction.atomic():
        previous = current_group_mappings().get(str(group_id))
        if previous is None:
            return False
        GroupRoleMapping.objects.filter(group_id=uuid.UUID(str(group_id))).delete()
        _mapping_changed(uuid.UUID(str(group_id)), actor=actor, role=None, previous=previous)
    return True


def create_role(*, key: str, name: str, billable: bool, actor: Actor) -> Role:
    """A custom role, below every existing role in precedence (reorder_roles moves it)."""
    key = key.strip().lower()
    name = name.strip()
    if not ROLE_KEY_RE.match(key):
        raise InvalidValue("use 2-63 lower-case letters, digits, dashes or underscores, starting with a letter", field="key")
    if not name:
        raise InvalidValue("a role needs a name", field="name")
    with transaction.atomic():
        if Role.objects.filter(key=key).exists():
            raise InvalidValue(f"a role with key {key!r} already exists", field="key")
        lowest = Role.objects.order_by("precedence").values_list("precedence", flat=True).first()
        role = Role.objects.create(key=key, name=name[:200], billable=billable, precedence=(lowest or 10) - 10)
        audit_admin_change(
            actor, AuditEventType.ROLE_CREATED, target_type="role", target_id=key, data={"name": role.name, "billable": billable}
        )
        return role


def reorder_roles(*, keys: Sequence[str], actor: Actor) -> list[Role]:
    """Set precedence from an ordered list of every role key, highest first; users are recomputed
    by the pipeline (role.mapping_changed without a group means "recompute everyone")."""
    with transaction.atomic():
        roles = {r.key: r for r in Role.objects.select_for_update()}
        if sorted(keys) != sorted(roles) or len(set(keys)) != len(keys):
            raise InvalidValue("list every role exactly once, highest precedence first", field="order")
        top = (Role.objects.aggregate(m=Max("precedence"))["m"] or 0) + 10 * len(keys)
        for position, key in enumerate(keys):
            roles[key].precedence = top - 10 * position
        Role.objects.bulk_update(roles.values(), ["precedence"])
        _mapping_changed(None, actor=actor, role=None, previous=None)
        audit_admin_change(actor, AuditEventType.ROLES_REORDERED, target_type="role", target_id="", data={"order": list(keys)})
    return sorted(roles.values(), key=lambda r: -r.precedence)


def grant_role_manually(*, user_id: uuid.UUID | str, role_key: str | None, tenant: TenantRef, actor: Actor) -> RoleChange | None:
    """An admin's own grant for one user (kept through mapping changes); None clears it back to mappings."""
    with transaction.atomic():
        user = DirectoryUser.objects.select_for_update().filter(pk=user_id).first()
        if user is None:
            raise NotFound("User", str(user_id))
        if role_key is None:
            RoleGrant.objects.filter(user=user, source=MANUAL_SOURCE).delete()
            audit_admin_change(
                actor, AuditEventType.ROLE_GRANTED_MANUALLY, target_type="user", target_id=str(user.pk), data={"role": None}
            )
            changes = recompute_roles([user.pk], tenant=tenant, actor=actor)
            return changes[0] if changes else None
        role = Role.objects.filter(key=role_key).first()
        if role is None:
            raise NotFound("Role", role_key)
        if not user.active:
            raise InvalidValue("a deactivated user cannot hold a role", field="role")
        current = RoleGrant.objects.select_related("role").filter(user=user).first()
        previous = current.role.key if current else None
        RoleGrant.objects.update_or_create(
            user=user, defaults={"role": role, "source": MANUAL_SOURCE, "granted_at": timezone.now()}
        )
        change = RoleChange(user.pk, previous, role.key, MANUAL_SOURCE)
        if previous != role.key:
            append_events([_role_event(user, user.pk, change, None)], actor=actor)
        audit_admin_change(
            actor,
            AuditEventType.ROLE_GRANTED_MANUALLY,
            target_type="user",
            target_id=str(user.pk),
            data={"role": role.key, "previous_role": previous},
        )
        return change


@dataclass(frozen=True)
class MappingChanges:
    """What `apply_role_mappings` changed: groups mapped or re-mapped, groups unmapped, the default role."""

    mapped: int
    unmapped: int
    default_changed: bool

    def __bool__(self) -> bool:
        return bool(self.mapped or self.unmapped or self.default_changed)


def apply_role_mappings(
    *, tenant: Tenant, group_roles: Mapping[str, str | None], default_role: str | None, actor: Actor
) -> MappingChanges:
    """Save the role of each listed group (None: unmapped) and the default role, in one transaction.

    Groups not listed keep their mapping; an unknown group or role changes nothing and raises. Each
    change appends role.mapping_changed, so the pipeline recomputes exactly the users it affects."""
    mapped = unmapped = 0
    with transaction.atomic():
        current = current_group_mappings()
        wanted = {str(uuid.UUID(str(g))): r for g, r in group_roles.items()}
        existing = set(map(str, DirectoryGroup.objects.filter(pk__in=list(wanted)).values_list("pk", flat=True)))
        missing = sorted(set(wanted) - existing)
        if missing:
            raise NotFound("Group", missing[0])
        for group_id, role_key in wanted.items():
            if current.get(group_id) == role_key:
                continue
            if role_key is None:
                unmapped += unmap_group(group_id=group_id, actor=actor)
            else:
                map_group_to_role(group_id=group_id, role_key=role_key, actor=actor)
                mapped += 1
        before = (tenant.settings or {}).get("default_role")
        set_default_role(tenant=tenant, role_key=default_role, actor=actor)
    return MappingChanges(mapped=mapped, unmapped=unmapped, default_changed=before != default_role)


def roles_by_precedence() -> list[Role]:
    return list(Role.objects.order_by("-precedence", "key"))


def move_role(*, key: str, direction: int, actor: Actor) -> list[Role]:
    """Move a role one place up (direction -1, higher precedence) or down (+1) in the order."""
    order = [r.key for r in roles_by_precedence()]
    if key not in order:
        raise NotFound("Role", key)
    index = order.index(key)
    target = index + (1 if direction > 0 else -1)
    if not 0 <= target < len(order):
        return roles_by_precedence()
    order[index], order[target] = order[target], order[index]
    return reorder_roles(keys=order, actor=actor)
