"""Console browser tests share the portal's browser plumbing: Debian's Chromium, a live server, a
private Redis, a real Celery worker and the screenshot helper."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.portal.browser.conftest import (  # noqa: F401  (pytest fixtures, found by name)
    browser_context_args,
    browser_type_launch_args,
    private_redis,
    shots,
    worker,
)
from tests.portal.support import PASSWORD, totp_now
from tests.provisioning.infra import Receiver, Worker, webhook_receiver


def sign_in_operator(page, live_server_url: str, email: str, device) -> None:  # type: ignore[no-untyped-def]
    """The real sign-in: email, password, then a TOTP code one step ahead (enrolment used the current one)."""
    page.goto(f"{live_server_url}/console/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Authentication code").fill(totp_now(device, steps_ahead=1))
    page.get_by_role("button", name="Verify").click()


@pytest.fixture
def delivery_env(monkeypatch, settings, tmp_path: Path) -> Path:  # type: ignore[no-untyped-def]
    """Two quick attempts before a delivery is dead, in this process and in the worker it starts."""
    exports = tmp_path / "exports"
    values = {
        "ROLLCALL_WEBHOOK_ALLOW_PRIVATE": "1",
        "ROLLCALL_WEBHOOK_MAX_ATTEMPTS": "2",
        "ROLLCALL_WEBHOOK_RETRY_BASE": "0.3",
        "ROLLCALL_WEBHOOK_RETRY_CAP": "1",
        "ROLLCALL_WEBHOOK_TIMEOUT": "2",
        "ROLLCALL_EXPORT_DIR": str(exports),
    }
    for name, value in values.items():
        monkeypatch.setenv(name, value)
    settings.ROLLCALL_WEBHOOK_MAX_ATTEMPTS = 2
    settings.ROLLCALL_WEBHOOK_RETRY_BASE = 0.3
    settings.ROLLCALL_WEBHOOK_RETRY_CAP = 1.0
    settings.ROLLCALL_EXPORT_DIR = exports
    return exports


@pytest.fixture
def delivery_worker(delivery_env, worker) -> Worker:  # type: ignore[no-untyped-def]  # noqa: F811
    return worker  # started after delivery_env, so it sees the same settings


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with webhook_receiver() as r:
        yield r
