"""Every event, of every type, gets a delivery per active endpoint that wants it (sent later)."""

from __future__ import annotations

from provisioning import selectors
from provisioning.handlers import ALL_TYPES, HandlerContext, register
from provisioning.webhooks.delivery import deliveries_for


@register("webhook_fanout", ALL_TYPES, order=90)
def create_webhook_deliveries(ctx: HandlerContext) -> None:
    endpoints = ctx.batch_cache.get("webhook_endpoints")
    if endpoints is None:
        endpoints = ctx.batch_cache["webhook_endpoints"] = selectors.active_endpoints()
    if not endpoints:
        return
    # Inserted in bulk by the drain, in this same transaction, with the other events' rows.
    ctx.buffer.webhook_deliveries.extend(
        deliveries_for(seq=ctx.seq, event_type=ctx.type.value, committed_at=ctx.occurred_at, endpoints=endpoints)
    )
