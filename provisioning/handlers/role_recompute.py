"""Role and seat recompute when users, memberships, groups or mappings change (deactivation is offboarding's)."""

from __future__ import annotations

import uuid

from directory import roles
from directory.nesting import users_under_groups
from outbox.event_types import EventType
from provisioning.handlers import HandlerContext, register_batch

_USER_EVENTS = {EventType.USER_CREATED, EventType.USER_REACTIVATED}
_MEMBER_EVENTS = {EventType.GROUP_MEMBER_ADDED, EventType.GROUP_MEMBER_REMOVED}


def affected_users(ctx: HandlerContext) -> set[uuid.UUID] | None:
    """Whose effective role may have changed because of this event (None: everyone's)."""
    if ctx.type in _USER_EVENTS:
        user_id = ctx.user_id()
        return {uuid.UUID(user_id)} if user_id else set()
    if ctx.type in _MEMBER_EVENTS:
        member = ctx.payload.get("member") or {}
        member_id = uuid.UUID(str(member["id"]))
        if member.get("type") == "Group":
            return set(users_under_groups([member_id]))
        return {member_id}
    if ctx.type is EventType.GROUP_DELETED:
        # The group's nested members are no longer reachable through it; anyone holding a grant may
        # have held it through this group, so recompute them all (bulk queries; deletes are rare).
        direct = {uuid.UUID(u) for u in ctx.payload.get("member_user_ids") or []}
        return direct | set(roles.users_holding_grants())
    if ctx.type is EventType.ROLE_MAPPING_CHANGED:
        group_id = ctx.payload.get("group_id")
        return set(users_under_groups([uuid.UUID(str(group_id))])) if group_id else None
    return set()


@register_batch(
    "role_recompute",
    [*_USER_EVENTS, *_MEMBER_EVENTS, EventType.GROUP_DELETED, EventType.ROLE_MAPPING_CHANGED],
    order=10,
)
def recompute_roles_for_events(contexts: list[HandlerContext]) -> None:
    """One recompute for the transaction's events: every affected user once, each change attributed to
    the latest event that affected that user."""
    causes: dict[uuid.UUID, roles.RoleCause] = {}
    everyone: HandlerContext | None = None
    default: str | None = None
    for ctx in contexts:
        users = affected_users(ctx)
        if users is None:
            everyone = ctx
            # An event that changed the default role carries the new one ("" for none): a worker's
            # cached tenant settings may not show it yet.
            if "default_role" in ctx.payload:
                default = ctx.payload.get("default_role") or ""
            continue
        for user_id in users:
            causes[user_id] = roles.RoleCause(ctx.seq, ctx.actor)
    if everyone is not None:  # every user is recomputed, this transaction's others included
        roles.recompute_all(tenant=everyone.tenant, actor=everyone.actor, default_role=default)
    elif causes:
        last = contexts[-1]
        roles.recompute_roles(causes, tenant=last.tenant, actor=last.actor, cause_seq=last.seq, causes=causes)
