"""Tell the tenant's admins when a group arrives that maps to no role (its members get no access),
and settle that notice once the group is mapped (a mapped group is not news any more)."""

from __future__ import annotations

from directory.selectors import unmapped_group
from outbox.event_types import EventType
from provisioning.handlers import HandlerContext, register
from provisioning.models import Notification
from provisioning.notifications import raise_notification, resolve_notification


@register("unmapped_group_alert", [EventType.GROUP_CREATED], order=60)
def alert_unmapped_group(ctx: HandlerContext) -> None:
    group = unmapped_group(str((ctx.payload.get("group") or {}).get("id", "")))
    if group is None:
        return
    raise_notification(
        tenant=ctx.tenant,
        kind=Notification.Kind.UNMAPPED_GROUP,
        key=f"unmapped_group:{group.id}",
        title=f"Group {group.display_name!r} is not mapped to a role",
        body=(
            f"Your identity provider pushed the group {group.display_name!r}. Its members get no role from it "
            "until you map it to one in the portal (Mappings > Roles)."
        ),
        severity=Notification.Severity.INFO,
        data={"group_id": str(group.id), "display_name": group.display_name},
        cooldown=None,
    )


@register("unmapped_group_resolved", [EventType.ROLE_MAPPING_CHANGED], order=60)
def settle_unmapped_group(ctx: HandlerContext) -> None:
    group_id = ctx.payload.get("group_id")
    if group_id and ctx.payload.get("role"):
        resolve_notification(f"unmapped_group:{group_id}")
