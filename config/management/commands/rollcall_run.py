"""python manage.py rollcall_run [--demo] — what `make run` calls (with --demo)."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from config.supervisor import run


class Command(BaseCommand):
    help = (
        "Migrate, then run web + Celery worker + beat under one supervisor until Ctrl-C, SIGTERM or SIGHUP. "
        "Crashed processes are restarted with backoff."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--demo",
            action="store_true",
            help="create (idempotently) the demo operator and tenant 'acme' with an Okta connection, and print "
            "a fresh demo SCIM token (`make run` sets this)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        sys.exit(run(demo=options["demo"]))
