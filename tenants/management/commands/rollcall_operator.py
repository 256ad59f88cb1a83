"""python manage.py rollcall_operator create|set-password|list ... [--json]"""

from __future__ import annotations

from dataclasses import asdict
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tenants.cli import render
from tenants.operators import OperatorCredentials, create_operator, list_operators, reset_operator_password
from tenants.services import TenantError


def _password_from(options: dict[str, Any]) -> str | None:
    path = options.get("password_file")
    if not path:
        return None
    try:
        return Path(path).read_text().strip()
    except OSError as exc:
        raise CommandError(f"cannot read --password-file {path}: {exc.strerror}") from None


class Command(BaseCommand):
    help = (
        "Operator accounts for the console: create one (deployment bootstrap), reset a lost password, list them. "
        "A generated password is printed once; it is stored only as a hash."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        sub = parser.add_subparsers(dest="action", required=True, metavar="{create,set-password,list}")
        create = sub.add_parser("create", help="create an operator (a generated password is printed once)")
        create.add_argument("--email", default="", help="for password-reset mails from the console")
        create.add_argument("--if-missing", action="store_true", help="do nothing when the operator exists (idempotent bootstrap)")
        create.add_argument("--role", default="admin", choices=["admin", "support"], help="console role (default admin)")
        reset = sub.add_parser("set-password", help="lost password: set a new one (generated unless --password-file)")
        reset.add_argument("--reset-2fa", action="store_true", help="also remove the operator's 2FA devices (lost phone)")
        for p in (create, reset):
            p.add_argument("--username", required=True, help="the operator's login name")
            p.add_argument("--password-file", help="read the password from this file (e.g. a Docker secret)")
        sub.add_parser("list", help="list operators (never passwords)")
        for p in sub.choices.values():
            p.add_argument("--json", action="store_true", help="print one JSON object (stable keys)")

    def handle(self, *args: Any, **options: Any) -> None:
        action = options["action"]
        try:
            if action == "list":
                result: dict[str, Any] = {"operators": [asdict(row) for row in list_operators()]}
            else:
                if action == "create":
                    creds = create_operator(
                        username=options["username"],
                        email=options["email"],
                        password=_password_from(options),
                        role=options["role"],
                        if_missing=options["if_missing"],
                    )
                else:
                    creds = reset_operator_password(
                        username=options["username"], password=_password_from(options), reset_two_factor=options["reset_2fa"]
                    )
                result = _credentials(creds)
        except TenantError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(render(result, as_json=options["json"]))


def _credentials(creds: OperatorCredentials) -> dict[str, Any]:
    result: dict[str, Any] = {"username": creds.username, "created": creds.created}
    if creds.password is not None:
        result["password"] = creds.password
    return result
