"""What the in-process benchmarks share: a throw-away database on the configured server, Django set
up on it, and a timer that also counts the queries of one call.

The server is DATABASE_URL's if set, else the embedded PostgreSQL; only the named database is
dropped and re-created, so a benchmark never touches real data.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any


def use_fresh_database(name: str) -> None:
    """Drop and create database `name` on the server, and point DATABASE_URL at it."""
    import psycopg

    from config.embedded import embedded_database_url

    base = os.environ.get("DATABASE_URL") or embedded_database_url()
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
        conn.execute(f"CREATE DATABASE {name}")
    head, sep, query = base.partition("?")
    os.environ["DATABASE_URL"] = head.rsplit("/", 1)[0] + f"/{name}" + (sep + query if sep else "")


def setup_django() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()


def timed(fn: Callable[[], Any], samples: int) -> tuple[list[float], int]:
    """Milliseconds of `samples` calls, and the queries of one (the schema switches left out)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as captured:
        fn()
    queries = len([q for q in captured.captured_queries if not q["sql"].startswith("SET search_path")])
    times = []
    for _ in range(samples):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return times, queries
