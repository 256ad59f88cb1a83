"""python manage.py rollcall_connection create|list|rotate-token|revoke-token ... [--json]"""

from __future__ import annotations

from dataclasses import asdict
from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from scim.idp import PROFILES
from tenants.audit import AuditActor
from tenants.cli import render
from tenants.selectors import list_connections
from tenants.services import (
    TenantError,
    create_connection,
    get_connection,
    get_tenant,
    revoke_tokens,
    rotate_token,
    scim_base_url,
)


class Command(BaseCommand):
    help = "Create and list SCIM connections (one per IdP integration) and manage their bearer tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{create,list,rotate-token,revoke-token}")
        create = sub.add_parser("create", help="create a connection and print its SCIM URL and token (shown once)")
        create.add_argument("--tenant", required=True, help="tenant slug")
        create.add_argument("--idp", required=True, help=", ".join(PROFILES) + " (aliases such as azure are accepted)")
        create.add_argument("--name", default="", help="label shown in the console (default: the IdP's name)")
        listing = sub.add_parser("list", help="list connections with their usable tokens and last request")
        listing.add_argument("--tenant", help="only this tenant's (slug)")
        rotate = sub.add_parser("rotate-token", help="issue a new token; old tokens keep working for --overlap-hours")
        rotate.add_argument("--overlap-hours", type=float, default=24.0, help="how long old tokens stay valid (default 24)")
        revoke = sub.add_parser("revoke-token", help="revoke every token of the connection now")
        for p in (rotate, revoke):
            p.add_argument("--connection", required=True, help="connection id (see `list`)")
        for p in sub.choices.values():
            p.add_argument("--json", action="store_true", help="print one JSON object (stable keys)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = self._run(options)
        except TenantError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(render(result, as_json=options["json"]))

    def _run(self, options: dict[str, Any]) -> dict[str, Any]:
        action = options["action"]
        actor = AuditActor.cli(f"rollcall_connection {action}")
        if action == "create":
            tenant = get_tenant(options["tenant"])
            issued = create_connection(tenant=tenant, idp=options["idp"], name=options["name"], actor=actor)
            return {
                "connection_id": issued.connection.id,
                "idp": issued.connection.idp,
                "scim_base_url": issued.scim_base_url,
                "token": issued.token,
            }
        if action == "list":
            only = get_tenant(options["tenant"]) if options["tenant"] else None
            return {"connections": [asdict(row) for row in list_connections(tenant=only)]}
        connection = get_connection(options["connection"])
        if action == "rotate-token":
            issued = rotate_token(
                connection=connection, overlap=timedelta(hours=options["overlap_hours"]), actor=actor
            )
            return {"connection_id": connection.id, "scim_base_url": scim_base_url(connection), "token": issued.token}
        revoked = revoke_tokens(connection=connection, actor=actor)
        return {"connection_id": connection.id, "revoked": revoked}
