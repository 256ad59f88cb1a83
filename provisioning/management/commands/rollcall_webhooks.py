"""python manage.py rollcall_webhooks create|list|deliveries|replay|rotate-secret --tenant acme ...

    create  --url URL [--events user.created,user.deactivated] [--description TEXT]
    list
    deliveries [--endpoint ID] [--status dead] [--limit 50]
    replay  --delivery ID
    replay  --endpoint ID [--from-seq N] [--to-seq N] [--since ISO] [--until ISO] [--dead-only]
    rotate-secret --endpoint ID
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count, Q
from django.utils.dateparse import parse_datetime

from provisioning.models import WebhookDelivery, WebhookEndpoint
from provisioning.selectors import webhook_deliveries
from provisioning.webhooks import endpoints, replay
from tenants.cli import render
from tenants.context import TenantRef, tenant_schema
from tenants.services import TenantError, get_tenant


def _when(raw: str | None) -> datetime | None:
    if raw is None:
        return None
    value = parse_datetime(raw)
    if value is None:
        raise CommandError(f"not an ISO 8601 date-time: {raw!r}")
    return value


class Command(BaseCommand):
    help = "Manage a tenant's webhook endpoints and replay deliveries."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(
            dest="action", required=True, metavar="{create,list,deliveries,replay,rotate-secret}"
        )
        create = sub.add_parser("create", help="add an endpoint and print its signing secret (shown once)")
        create.add_argument("--url", required=True, help="https URL that receives signed POSTs")
        create.add_argument("--events", default="", help="comma-separated event types; empty: all")
        create.add_argument("--description", default="")
        sub.add_parser("list", help="list endpoints with delivery counts")
        deliveries = sub.add_parser("deliveries", help="list recent deliveries (ids for `replay --delivery`)")
        deliveries.add_argument("--endpoint", help="only this endpoint's")
        deliveries.add_argument("--status", choices=[s.value for s in WebhookDelivery.Status], help="only this status")
        deliveries.add_argument("--limit", type=int, default=50, help="at most this many (default 50, max 1000)")
        replay = sub.add_parser("replay", help="send deliveries again: one (--delivery) or a range of an endpoint's")
        replay.add_argument("--delivery", type=int, help="delivery id (see `deliveries`)")
        replay.add_argument("--endpoint", help="endpoint id (see `list`)")
        replay.add_argument("--from-seq", type=int, help="first event seq")
        replay.add_argument("--to-seq", type=int, help="last event seq")
        replay.add_argument("--since", help="ISO 8601 date-time")
        replay.add_argument("--until", help="ISO 8601 date-time")
        replay.add_argument("--dead-only", action="store_true", help="only dead-lettered deliveries")
        rotate = sub.add_parser("rotate-secret", help="new signing secret; the old one signs too for a while")
        rotate.add_argument("--endpoint", required=True, help="endpoint id (see `list`)")
        for p in sub.choices.values():
            p.add_argument("--tenant", required=True, help="tenant slug")
            p.add_argument("--json", action="store_true", help="print one JSON object (stable keys)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tenant = TenantRef.of(get_tenant(options["tenant"]))
        except TenantError as exc:
            raise CommandError(str(exc)) from exc
        with tenant_schema(tenant):
            try:
                result = getattr(self, "_" + options["action"].replace("-", "_"))(tenant, options)
            except (endpoints.WebhookError, WebhookEndpoint.DoesNotExist) as exc:
                raise CommandError(str(exc)) from exc
        self.stdout.write(render(result, as_json=options["json"]))

    def _create(self, tenant: TenantRef, options: dict[str, Any]) -> dict[str, Any]:
        events = [e.strip() for e in options["events"].split(",") if e.strip()]
        created = endpoints.create_endpoint(url=options["url"], event_types=events, description=options["description"])
        return {"endpoint_id": str(created.endpoint.id), "url": created.endpoint.url, "secret": created.secret}

    def _list(self, tenant: TenantRef, options: dict[str, Any]) -> dict[str, Any]:
        status = WebhookDelivery.Status
        rows = WebhookEndpoint.objects.annotate(
            dead=Count("deliveries", filter=Q(deliveries__status=status.DEAD)),
            retrying=Count("deliveries", filter=Q(deliveries__status=status.RETRYING)),
            succeeded=Count("deliveries", filter=Q(deliveries__status=status.SUCCEEDED)),
        ).order_by("created_at")
        return {
            "endpoints": [
                {
                    "id": str(e.id),
                    "url": e.url,
                    "active": e.active,
                    "event_types": e.event_types,
                    "secret_prefix": e.secret_prefix,
                    "consecutive_failures": e.consecutive_failures,
                    "succeeded": e.succeeded,
                    "retrying": e.retrying,
                    "dead": e.dead,
                }
                for e in rows
            ]
        }

    def _deliveries(self, tenant: TenantRef, options: dict[str, Any]) -> dict[str, Any]:
        rows = webhook_deliveries(endpoint_id=options["endpoint"], status=options["status"], limit=options["limit"])
        return {"deliveries": [asdict(row) for row in rows]}

    def _replay(self, tenant: TenantRef, options: dict[str, Any]) -> dict[str, Any]:
        if options["delivery"] is not None:
            delivery = replay.replay_delivery(tenant=tenant, delivery_id=options["delivery"])
            return {"replayed": 1, "delivery_id": delivery.pk}
        if not options["endpoint"]:
            raise CommandError("replay needs --delivery ID or --endpoint ID")
        count = replay.replay_deliveries(
            tenant=tenant,
            endpoint_id=options["endpoint"],
            seq_from=options["from_seq"],
            seq_to=options["to_seq"],
            since=_when(options["since"]),
            until=_when(options["until"]),
            dead_only=options["dead_only"],
        )
        return {"replayed": count}

    def _rotate_secret(self, tenant: TenantRef, options: dict[str, Any]) -> dict[str, Any]:
        return {"endpoint_id": options["endpoint"], "secret": endpoints.rotate_secret(endpoint_id=options["endpoint"])}
