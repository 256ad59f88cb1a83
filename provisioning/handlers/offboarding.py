"""On user.deactivated / user.deleted: revoke sessions, tokens, grants, owned agents; keep the proof."""

from __future__ import annotations

from directory.offboarding import offboard_user
from outbox.event_types import EventType
from provisioning.handlers import HandlerContext, register


@register("offboarding", [EventType.USER_DEACTIVATED, EventType.USER_DELETED], order=5)
def revoke_access(ctx: HandlerContext) -> None:
    user_id = ctx.user_id()
    if user_id is None:
        return
    offboard_user(
        user_id=user_id,
        user_name=str((ctx.payload.get("user") or {}).get("user_name", "")),
        event_type=ctx.type,
        seq=ctx.seq,
        requested_at=ctx.requested_at or ctx.occurred_at,
        actor=ctx.actor,
    )
