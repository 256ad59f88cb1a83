"""The three long-running processes (web, worker, beat) and their exact command lines.

`make run`'s supervisor starts these argvs; docker-compose runs `python -m config.processes web`
(or worker, beat), which execs the same argv. So the HTTP server, the Celery pool and their options
are the same in both, by construction (issue 17: a fault that only the deployed configuration
meets must be met in tests too).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from django.conf import settings

from config.webserver import server_command

NAMES = ("web", "worker", "beat")


def web_command(port: int) -> list[str]:
    return server_command(host=settings.BIND_HOST, port=port, workers=settings.WEB_CONCURRENCY)


def worker_command() -> list[str]:
    # The prefork pool (Celery's default and what production runs): a task that crashes or leaks
    # takes down one pool process, which the worker replaces, not the worker.
    # No gossip, mingle or event heartbeats: Rollcall uses none of them, and on a Redis broker they
    # are what broke on a Redis restart: restarting Gossip after "Connection to broker lost" raised
    # AttributeError ('NoneType' object has no attribute 'hostname' / 'connection_errors') from
    # kombu's channel clean-up, and the worker exited with "Unrecoverable error" (issue 17).
    return [
        sys.executable, "-m", "celery", "-A", "config", "--quiet", "worker",
        "--pool", "prefork", "--concurrency", str(settings.WORKER_CONCURRENCY),
        "--without-gossip", "--without-mingle", "--without-heartbeat",
        "--loglevel", settings.PROCESS_LOG_LEVEL, "--hostname", "worker@%h",
    ]  # fmt: skip


def beat_command(schedule_file: Path) -> list[str]:
    return [
        sys.executable, "-m", "celery", "-A", "config", "--quiet", "beat",
        "--loglevel", settings.PROCESS_LOG_LEVEL, "--schedule", str(schedule_file),
    ]  # fmt: skip


def process_commands(port: int) -> dict[str, list[str]]:
    return {
        "web": web_command(port),
        "worker": worker_command(),
        "beat": beat_command(Path(settings.DATA_DIR) / "celerybeat-schedule"),
    }


def main(argv: list[str]) -> int:
    """`python -m config.processes web|worker|beat`: become that process (containers, one per service)."""
    if len(argv) != 1 or argv[0] not in NAMES:
        print(f"usage: python -m config.processes {'|'.join(NAMES)}", file=sys.stderr)
        return 2
    Path(settings.DATA_DIR).mkdir(parents=True, exist_ok=True)
    command = process_commands(settings.PORT)[argv[0]]
    os.execv(command[0], command)
    return 0  # not reached


if __name__ == "__main__":
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    sys.exit(main(sys.argv[1:]))
