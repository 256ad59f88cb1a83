"""python manage.py rollcall_tenant create|list|setup-link ... [--json]"""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.audit import AuditActor
from tenants.cli import render
from tenants.selectors import list_tenants
from tenants.services import TenantError, create_tenant, get_tenant, issue_setup_link


class Command(BaseCommand):
    help = "Create and list tenants (each with its own schema) and issue their setup links."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{create,list,setup-link}")
        create = sub.add_parser("create", help="create a tenant (own schema) and print its setup link")
        create.add_argument("--name", required=True, help="display name, e.g. 'Globex Corp'")
        create.add_argument("--slug", required=True, help="3-40 lower-case letters, digits, dashes; used in CLI commands")
        sub.add_parser("list", help="list tenants with their status and number of connections")
        link = sub.add_parser("setup-link", help="issue a new setup link for a tenant (valid 7 days, usable once)")
        link.add_argument("--tenant", required=True, help="tenant slug")
        for p in sub.choices.values():
            p.add_argument("--json", action="store_true", help="print one JSON object (stable keys)")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = AuditActor.cli(f"rollcall_tenant {options['action']}")
        try:
            action = options["action"]
            if action == "create":
                created = create_tenant(name=options["name"], slug=options["slug"], actor=actor)
                result: dict[str, Any] = {
                    "tenant_id": str(created.tenant.id),
                    "slug": created.tenant.slug,
                    "setup_url": created.setup_url,
                }
            elif action == "list":
                result = {"tenants": [asdict(row) for row in list_tenants()]}
            else:
                tenant = get_tenant(options["tenant"])
                result = {
                    "tenant_id": str(tenant.id),
                    "slug": tenant.slug,
                    "setup_url": issue_setup_link(tenant=tenant, actor=actor),
                }
        except TenantError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(render(result, as_json=options["json"]))
