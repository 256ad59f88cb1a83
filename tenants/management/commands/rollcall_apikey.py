"""python manage.py rollcall_apikey create|list|revoke --tenant acme ... [--json]"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.audit import AuditActor
from tenants.cli import render
from tenants.selectors import list_api_keys
from tenants.services import TenantError, create_api_key, get_tenant, revoke_api_key


class Command(BaseCommand):
    help = "Issue, list and revoke a tenant's Events API keys (shown once, stored hashed)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{create,list,revoke}")
        create = sub.add_parser("create", help="issue a key and print it (shown once)")
        create.add_argument("--label", default="", help="what the key is for, shown by `list`")
        sub.add_parser("list", help="list keys (id, label, last use, revoked); never the secret")
        revoke = sub.add_parser("revoke", help="revoke a key now")
        revoke.add_argument("--key-id", required=True, help="the key's id (see `list`; the part after rck_)")
        for p in sub.choices.values():
            p.add_argument("--tenant", required=True, help="tenant slug")
            p.add_argument("--json", action="store_true", help="print one JSON object (stable keys)")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            tenant = get_tenant(options["tenant"])
            action = options["action"]
            actor = AuditActor.cli(f"rollcall_apikey {action}")
            if action == "create":
                result: dict[str, Any] = {"api_key": create_api_key(tenant=tenant, label=options["label"], actor=actor)}
            elif action == "list":
                result = {"api_keys": [asdict(row) for row in list_api_keys(tenant=tenant)]}
            else:
                result = {"key_id": options["key_id"], "revoked": revoke_api_key(tenant=tenant, key_id=options["key_id"], actor=actor)}
        except TenantError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(render(result, as_json=options["json"]))
