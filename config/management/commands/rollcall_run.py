"""python manage.py rollcall_run — what `make run` calls."""

from __future__ import annotations

import sys
from typing import Any

from django.core.management.base import BaseCommand

from config.supervisor import run


class Command(BaseCommand):
    help = "Migrate, seed the demo tenant, and run web + Celery worker + beat until Ctrl-C."

    def handle(self, *args: Any, **options: Any) -> None:
        sys.exit(run())
