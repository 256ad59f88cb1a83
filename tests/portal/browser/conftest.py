"""Browser-test plumbing: Debian's Chromium (never a downloaded browser), 1280x800, a live server,
a private Redis as broker and a real Celery worker subprocess on the test database."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from config.database import libpq_url
from outbox import relay
from tests.provisioning.infra import RedisServer, Worker

# Playwright's sync API runs an event loop in this thread; the ORM calls the test makes between
# browser steps are still plain synchronous calls.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
SCREENSHOTS = Path(__file__).resolve().parents[3] / "docs" / "screenshots"
VIEWPORT = {"width": 1280, "height": 800}


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args: dict[str, Any]) -> dict[str, Any]:
    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"{CHROMIUM} is missing: apt-get install chromium (never download a browser)")
    return {
        **browser_type_launch_args,
        "executable_path": CHROMIUM,
        "headless": True,
        "args": [
            "--no-sandbox",
            "--disable-background-networking",
            "--disable-component-update",
            "--no-first-run",
            "--disable-sync",
        ],
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args: dict[str, Any]) -> dict[str, Any]:
    return {**browser_context_args, "viewport": VIEWPORT, "device_scale_factor": 1, "locale": "en-GB", "timezone_id": "UTC"}


def _database_url() -> str:
    """The test database on the server Django uses (a socket directory included: embedded defaults)."""
    return libpq_url(connection.settings_dict)


@pytest.fixture(scope="session")
def private_redis(tmp_path_factory) -> Iterator[RedisServer]:  # type: ignore[no-untyped-def]
    server = RedisServer(tmp_path_factory.mktemp("redis"))
    server.start()
    yield server
    server.kill()


@pytest.fixture
def worker(private_redis: RedisServer, settings, tmp_path: Path, live_server) -> Iterator[Worker]:  # type: ignore[no-untyped-def]
    """A real Celery worker on the test database; this process publishes to the same private broker."""
    private_redis.client().flushall()
    settings.CELERY_BROKER_URL = private_redis.url
    settings.REDIS_URL = private_redis.url
    settings.PUBLIC_BASE_URL = live_server.url
    relay.reset_broker_pause()
    (tmp_path / "mail").mkdir()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": _database_url(),
        "REDIS_URL": private_redis.url,
        "ROLLCALL_OUTBOX_SWEEP_SECONDS": "1",
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(tmp_path / "mail"),
        "PYTHONUNBUFFERED": "1",
    }
    started = Worker("portal-e2e", env, tmp_path).start()
    yield started
    started.stop()


class Shots:
    """Saves full-viewport screenshots under stable names, in the order the walkthrough shows them."""

    def __init__(self, page: Any) -> None:
        self.page = page
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)

    def __call__(self, name: str) -> None:
        self.page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)


@pytest.fixture
def shots(page) -> Shots:  # type: ignore[no-untyped-def]
    return Shots(page)
