"""python manage.py rollcall_tenant create --name "Acme" --slug acme [--json]"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.audit import AuditActor
from tenants.services import TenantError, create_tenant, get_tenant, issue_setup_link


class Command(BaseCommand):
    help = "Create tenants and setup links."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create", help="create a tenant (own schema) and print its setup link")
        create.add_argument("--name", required=True)
        create.add_argument("--slug", required=True)
        create.add_argument("--json", action="store_true")
        link = sub.add_parser("setup-link", help="issue a new setup link for a tenant")
        link.add_argument("--tenant", required=True, help="tenant slug")
        link.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        actor = AuditActor.cli(f"rollcall_tenant {options['action']}")
        try:
            if options["action"] == "create":
                created = create_tenant(name=options["name"], slug=options["slug"], actor=actor)
                result = {
                    "tenant_id": str(created.tenant.id),
                    "slug": created.tenant.slug,
                    "setup_url": created.setup_url,
                }
            else:
                tenant = get_tenant(options["tenant"])
                result = {
                    "tenant_id": str(tenant.id),
                    "slug": tenant.slug,
                    "setup_url": issue_setup_link(tenant=tenant, actor=actor),
                }
        except TenantError as exc:
            raise CommandError(str(exc)) from exc
        if options["json"]:
            self.stdout.write(json.dumps(result))
        else:
            for key, value in result.items():
                self.stdout.write(f"{key}: {value}")
