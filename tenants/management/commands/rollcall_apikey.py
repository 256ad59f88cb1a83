"""python manage.py rollcall_apikey create --tenant acme [--json]"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.audit import AuditActor
from tenants.services import TenantError, create_api_key, get_tenant


class Command(BaseCommand):
    help = "Issue Events API keys (shown once, stored hashed)."

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True)
        create = sub.add_parser("create")
        create.add_argument("--tenant", required=True, help="tenant slug")
        create.add_argument("--label", default="")
        create.add_argument("--json", action="store_true")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            key = create_api_key(
                tenant=get_tenant(options["tenant"]), label=options["label"], actor=AuditActor.cli("rollcall_apikey")
            )
        except TenantError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(json.dumps({"api_key": key}) if options["json"] else f"api_key: {key}")
