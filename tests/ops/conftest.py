"""Fixtures for tests that run Rollcall's real processes (supervisor, web server, workers)."""

from __future__ import annotations

import os
from pathlib import Path

from django.db import connection

from config.database import libpq_url
from tests.provisioning.infra import free_port

# Pipeline timings short enough for a test, through the same variables an operator would set.
FAST_PIPELINE = {
    "ROLLCALL_OUTBOX_SWEEP_SECONDS": "1",
    "ROLLCALL_HANDLER_RETRY_BASE": "0.2",
    "ROLLCALL_WEBHOOK_ALLOW_PRIVATE": "1",
    "ROLLCALL_WEBHOOK_RETRY_BASE": "0.2",
    "ROLLCALL_WEBHOOK_RETRY_CAP": "1",
    "CELERY_VISIBILITY_TIMEOUT": "10",
}
OPS_TOKEN = "ops-test-metrics-token"


def supervisor_env(tmp_path: Path, *, redis_url: str, **extra: str) -> dict[str, str]:
    """The environment of a `make run` on the test database: own data dir, free port, no public URL."""
    (tmp_path / "mail").mkdir(exist_ok=True)
    env = {k: v for k, v in os.environ.items() if k not in {"ROLLCALL_PUBLIC_URL", "ALLOWED_HOSTS"}}
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=libpq_url(connection.settings_dict),
        REDIS_URL=redis_url,
        PORT=str(free_port()),
        ROLLCALL_DATA_DIR=str(tmp_path / "data"),
        EMAIL_FILE_PATH=str(tmp_path / "mail"),
        WEB_CONCURRENCY="1",
        WORKER_CONCURRENCY="2",
        PYTHONUNBUFFERED="1",
        ROLLCALL_METRICS_TOKEN=OPS_TOKEN,
        **FAST_PIPELINE,
    )
    env.update(extra)
    return env
