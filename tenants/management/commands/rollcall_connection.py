"""python manage.py rollcall_connection create|rotate-token|revoke-token ... [--json]"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.audit import AuditActor
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
    help = "Create SCIM connections and manage their bearer tokens."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a connection and print its SCIM URL and token (shown once)")
        create.add_argument("--tenant", required=True, help="tenant slug")
        create.add_argument("--idp", required=True, help="okta, entra, google, onelogin, jumpcloud, ping, rippling, generic")
        create.add_argument("--name", default="")
        create.add_argument("--json", action="store_true")
        for action, text in (
            ("rotate-token", "issue a new token; old tokens keep working for --overlap-hours"),
            ("revoke-token", "revoke every token of the connection now"),
        ):
            p = sub.add_parser(action, help=text)
            p.add_argument("--connection", required=True, help="connection id")
            p.add_argument("--json", action="store_true")
            if action == "rotate-token":
                p.add_argument("--overlap-hours", type=float, default=24.0)

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            result = self._run(options)
        except TenantError as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            for key, value in result.items():
                self.stdout.write(f"{key}: {value}")

    def _run(self, options: dict[str, Any]) -> dict[str, Any]:
        from datetime import timedelta

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
        connection = get_connection(options["connection"])
        if action == "rotate-token":
            issued = rotate_token(
                connection=connection, overlap=timedelta(hours=options["overlap_hours"]), actor=actor
            )
            return {"connection_id": connection.id, "scim_base_url": scim_base_url(connection), "token": issued.token}
        revoked = revoke_tokens(connection=connection, actor=actor)
        return {"connection_id": connection.id, "revoked": revoked}
