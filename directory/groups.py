"""Group lifecycle services. Membership changes run as set operations in SQL, O(delta), never
a read-modify-write of the member list, so a 100-member PATCH costs the same on any group size.

Like the user services, these take documents and membership changes as values; SCIM request
semantics stay at the SCIM edge, which passes a `change` function of the current document."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q
from django.utils import timezone

from directory import selectors
from directory.catalog import GROUP_CATALOG
from directory.change import (
    ChangeContext,
    ExpectedVersion,
    change_transaction,
    check_version,
    unique_values_guard,
)
from directory.errors import CircularMembership, InvalidMembers, InvalidValue, NotFound
from directory.filtering import compile_member_filter
from directory.models import DirectoryGroup, DirectoryUser, Membership
from directory.nesting import group_ancestors
from directory.normalization import normalize_names
from directory.payloads import group_payload
from outbox.append import NewEvent, append_events
from outbox.event_types import EventType
from scim.filter import Comparison, Filter, Or
from scim.patch import MemberChange

DocumentChange = Callable[[dict[str, Any]], dict[str, Any]]


@dataclass
class MemberDelta:
    """Members added and removed by one request: {member id: (type, display)}."""

    added: dict[uuid.UUID, tuple[str, str]] = field(default_factory=dict)
    removed: dict[uuid.UUID, tuple[str, str]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(self.added or self.removed)


def stored_document(resource: Mapping[str, Any]) -> dict[str, Any]:
    """The part of a group resource the directory keeps: everything but the server-owned keys, with
    its name normalised (directory.normalization)."""
    document = {k: v for k, v in resource.items() if k not in GROUP_CATALOG.server_keys}
    return normalize_names(document, GROUP_CATALOG)


def _apply_columns(group: DirectoryGroup, document: Mapping[str, Any]) -> None:
    for stored in GROUP_CATALOG.columns:
        assert stored.column is not None
        value = document.get(stored.name)
        if value in (None, "") and stored.column.nullable:
            setattr(group, stored.column.name, None)
            continue
        if not isinstance(value, str) or not value:
            raise InvalidValue(f"{stored.name} must be a non-empty string", field=stored.name)
        limit = getattr(DirectoryGroup._meta.get_field(stored.column.name), "max_length", None)
        if limit is not None and len(value) > limit:
            raise InvalidValue(f"{stored.name} is longer than {limit} characters", field=stored.name)
        setattr(group, stored.column.name, value)


# --------------------------------------------------------------------------- member resolution


@dataclass(frozen=True)
class ResolvedMembers:
    users: dict[uuid.UUID, str]  # id -> display
    groups: dict[uuid.UUID, str]


def _member_ids(members: Iterable[Mapping[str, Any]]) -> tuple[list[uuid.UUID], list[uuid.UUID], list[str]]:
    """Split member objects into user ids, group ids (when typed Group) and unparseable values."""
    users: list[uuid.UUID] = []
    groups: list[uuid.UUID] = []
    bad: list[str] = []
    for member in members:
        raw = str(member.get("value", ""))
        pk = selectors.parse_id(raw)
        if pk is None:
            bad.append(raw)
        elif str(member.get("type", "")).lower() == "group":
            groups.append(pk)
        else:
            users.append(pk)
    return users, groups, bad


def resolve_members(members: Sequence[Mapping[str, Any]]) -> ResolvedMembers:
    """Look members up (users first; untyped ids that are not users may be groups). Unknown -> 400."""
    user_ids, group_ids, bad = _member_ids(members)
    users = {
        pk: display or name
        for pk, display, name in DirectoryUser.objects.filter(pk__in=user_ids).values_list(
            "id", "display_name", "user_name"
        )
    }
    missing_users = [pk for pk in user_ids if pk not in users]
    candidates = group_ids + missing_users
    groups = (
        dict(DirectoryGroup.objects.filter(pk__in=candidates).values_list("id", "display_name"))
        if candidates
        else {}
    )
    unknown = bad + [str(pk) for pk in candidates if pk not in groups]
    if unknown:
        raise InvalidMembers(unknown)
    return ResolvedMembers(users=users, groups=groups)


def _check_no_cycle(group: DirectoryGroup, child_ids: Iterable[uuid.UUID]) -> None:
    child_ids = list(child_ids)
    if not child_ids:
        return
    ancestors = group_ancestors(group.id)
    looping = [str(c) for c in child_ids if c in ancestors]
    if looping:
        raise CircularMembership(looping)


# --------------------------------------------------------------------------- membership set operations


def _add_members(group: DirectoryGroup, members: Sequence[Mapping[str, Any]], delta: MemberDelta) -> None:
    if not members:
        return
    resolved = resolve_members(members)
    _check_no_cycle(group, resolved.groups)
    present = Membership.objects.filter(group=group).filter(
        Q(user_id__in=list(resolved.users)) | Q(child_group_id__in=list(resolved.groups))
    )
    existing = {u or g for u, g in present.values_list("user_id", "child_group_id")}
    now = timezone.now()
    rows = [Membership(group=group, user_id=pk, created=now) for pk in resolved.users if pk not in existing]
    rows += [Membership(group=group, child_group_id=pk, created=now) for pk in resolved.groups if pk not in existing]
    if not rows:
        return
    Membership.objects.bulk_create(rows)
    for pk in (r.user_id or r.child_group_id for r in rows):
        assert pk is not None
        if pk in delta.removed:
            delta.removed.pop(pk)
        else:
            info = ("User", resolved.users[pk]) if pk in resolved.users else ("Group", resolved.groups[pk])
            delta.added[pk] = info


def _remove_rows(group: DirectoryGroup, condition: Q, delta: MemberDelta) -> None:
    rows = list(
        Membership.objects.filter(group=group)
        .filter(condition)
        .values_list("id", "user_id", "child_group_id", "user__display_name", "user__user_name", "child_group__display_name")
    )
    if not rows:
        return
    Membership.objects.filter(id__in=[r[0] for r in rows]).delete()
    for _id, user_id, child_id, user_display, user_name, child_display in rows:
        pk = user_id or child_id
        if pk in delta.added:
            delta.added.pop(pk)
        else:
            delta.removed[pk] = ("User", user_display or user_name) if user_id else ("Group", child_display)


def _ids_condition(members: Iterable[Mapping[str, Any]]) -> Q:
    ids = [pk for pk in (selectors.parse_id(str(m.get("value", ""))) for m in members) if pk is not None]
    return Q(user_id__in=ids) | Q(child_group_id__in=ids)


def _value_eq_ids(expr: Filter) -> list[str] | None:
    """`value eq "a" or value eq "b"` -> ["a", "b"] (the indexed fast path); None for other filters."""
    if isinstance(expr, Comparison) and expr.op == "eq" and expr.path.attr.lower() == "value" and not expr.path.sub_attr:
        return [str(expr.value)]
    if isinstance(expr, Or):
        left, right = _value_eq_ids(expr.left), _value_eq_ids(expr.right)
        if left is not None and right is not None:
            return left + right
    return None


def _apply_member_change(group: DirectoryGroup, change: MemberChange, delta: MemberDelta) -> None:
    if change.kind == "add":
        _add_members(group, change.members, delta)
    elif change.kind == "remove":
        _remove_rows(group, _ids_condition(change.members), delta)
    elif change.kind == "remove_all":
        _remove_rows(group, Q(), delta)
    elif change.kind == "remove_where":
        assert change.where is not None
        ids = _value_eq_ids(change.where)
        condition = _ids_condition([{"value": i} for i in ids]) if ids is not None else compile_member_filter(change.where)
        _remove_rows(group, condition, delta)
    elif change.kind == "replace":
        wanted = _ids_condition(change.members)
        _remove_rows(group, ~wanted, delta)
        _add_members(group, change.members, delta)
    else:  # pragma: no cover - MemberChange kinds are a closed set
        raise ValueError(change.kind)


def _membership_events(group: DirectoryGroup, delta: MemberDelta) -> list[NewEvent]:
    events: list[NewEvent] = []
    gp = group_payload(group)
    for kind, items in ((EventType.GROUP_MEMBER_ADDED, delta.added), (EventType.GROUP_MEMBER_REMOVED, delta.removed)):
        for pk, (member_type, display) in items.items():
            member = {"id": str(pk), "type": member_type, "display": display}
            events.append(NewEvent(kind, "Group", str(group.id), {"group": gp, "member": member}))
    return events


# --------------------------------------------------------------------------- services


def create_group(*, resource: Mapping[str, Any], ctx: ChangeContext) -> DirectoryGroup:
    """Add a group and its members (group.created, group.member_added each); a taken name is a Conflict."""
    document = stored_document(resource)
    group = DirectoryGroup(id=uuid.uuid4(), resource=document, source_connection_id=ctx.actor.id[:32])
    _apply_columns(group, document)

    def write() -> DirectoryGroup:
        with change_transaction():
            group.save(force_insert=True)
            delta = MemberDelta()
            _add_members(group, resource.get("members") or [], delta)
            events = [NewEvent(EventType.GROUP_CREATED, "Group", str(group.id), {"group": group_payload(group)})]
            append_events(events + _membership_events(group, delta), actor=ctx.actor)
        return group

    return unique_values_guard(write, "displayName", group.display_name)


def _locked_group(group_id: str | uuid.UUID, expected_version: ExpectedVersion) -> DirectoryGroup:
    group = selectors.find_group(str(group_id), for_update=True)
    if group is None:
        raise NotFound("Group", str(group_id))
    check_version(expected_version, group.version)
    return group


def _finish_change(
    group: DirectoryGroup, old: Mapping[str, Any], new: dict[str, Any], delta: MemberDelta, ctx: ChangeContext
) -> DirectoryGroup:
    attributes_changed = new != old
    if not attributes_changed and not delta:
        return group
    group.resource = new
    _apply_columns(group, new)
    group.version += 1
    group.last_modified = timezone.now()
    group.save()
    events: list[NewEvent] = []
    if attributes_changed:
        changed = sorted(k for k in set(old) | set(new) if old.get(k) != new.get(k))
        events.append(
            NewEvent(EventType.GROUP_UPDATED, "Group", str(group.id), {"group": group_payload(group), "changed": changed})
        )
    append_events(events + _membership_events(group, delta), actor=ctx.actor)
    return group


def update_group(
    *,
    group_id: str | uuid.UUID,
    ctx: ChangeContext,
    change: DocumentChange | None = None,
    member_changes: Sequence[MemberChange] = (),
    expected_version: ExpectedVersion = None,
) -> DirectoryGroup:
    """Change a group's attributes (`change` of its current document) and/or its members, in order.

    Adding a present member or removing an absent one changes nothing (no event, same version)."""

    def write() -> DirectoryGroup:
        with change_transaction():
            group = _locked_group(group_id, expected_version)
            old = group.resource
            new = stored_document(change(dict(old))) if change is not None else old
            delta = MemberDelta()
            for member_change in member_changes:
                _apply_member_change(group, member_change, delta)
            return _finish_change(group, old, new, delta, ctx)

    return unique_values_guard(write, "displayName")


def delete_group(*, group_id: str | uuid.UUID, ctx: ChangeContext, expected_version: ExpectedVersion = None) -> None:
    """Remove the group and its memberships (group.deleted, naming its former user members)."""
    with change_transaction():
        group = _locked_group(group_id, expected_version)
        members = list(Membership.objects.filter(group=group).values_list("user_id", flat=True))
        payload = {"group": group_payload(group), "member_user_ids": [str(m) for m in members if m]}
        group.delete()
        append_events([NewEvent(EventType.GROUP_DELETED, "Group", str(group_id), payload)], actor=ctx.actor)
