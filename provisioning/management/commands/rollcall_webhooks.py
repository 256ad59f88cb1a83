"""python manage.py rollcall_webhooks create|list|replay|rotate-secret --tenant acme ...

    create  --url URL [--events user.created,user.deactivated] [--description TEXT]
    list
    replay  --delivery ID
    replay  --endpoint ID [--from-seq N] [--to-seq N] [--since ISO] [--until ISO] [--dead-only]
    rotate-secret --endpoint ID
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Count, Q
from django.utils.dateparse import parse_datetime

from provisioning.models import WebhookDelivery, WebhookEndpoint
from provisioning.webhooks import endpoints, replay
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
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create")
        create.add_argument("--url", required=True)
        create.add_argument("--events", default="", help="comma-separated event types; empty: all")
        create.add_argument("--description", default="")
        sub.add_parser("list")
        replay = sub.add_parser("replay")
        replay.add_argument("--delivery", type=int)
        replay.add_argument("--endpoint")
        replay.add_argument("--from-seq", type=int)
        replay.add_argument("--to-seq", type=int)
        replay.add_argument("--since")
        replay.add_argument("--until")
        replay.add_argument("--dead-only", action="store_true")
        rotate = sub.add_parser("rotate-secret")
        rotate.add_argument("--endpoint", required=True)
        for p in (create, replay, rotate, sub.choices["list"]):
            p.add_argument("--tenant", required=True, help="tenant slug")
            p.add_argument("--json", action="store_true")

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
        if options["json"]:
            self.stdout.write(json.dumps(result, default=str))
        else:
            for key, value in result.items():
                self.stdout.write(f"{key}: {value}")

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
