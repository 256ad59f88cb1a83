"""The Celery app the reliability tests run in worker subprocesses: the real app, the pipeline's
wiring (as config/celery.py will install it), a fast unacked-message restore, and one test-only
handler that blocks on a file so a test can kill the worker in the middle of a task."""

from __future__ import annotations

import os
import time
from pathlib import Path

import django

from config.celery import app

django.setup()  # the test handler below imports models; Celery would set Django up only later

from outbox.event_types import EventType  # noqa: E402
from provisioning.celery_setup import configure  # noqa: E402
from provisioning.handlers import HandlerContext, register  # noqa: E402

configure(app)
app.conf.broker_transport_options = {
    **(app.conf.broker_transport_options or {}),
    "unacked_restore_interval": 1,
    "unacked_restore_throttle": 1,
}

GATE_DIR = os.environ.get("ROLLCALL_TEST_GATE_DIR")
GATE_TITLE = "gate"
GATE_TIMEOUT_SECONDS = 60.0


if GATE_DIR:
    import tests.console.gated_runner  # noqa: F401  (a job runner that waits at the gate)

    @register("test_gate", [EventType.USER_UPDATED], order=1)
    def wait_at_gate(ctx: HandlerContext) -> None:
        """For users titled "gate": note the entry, then wait until the test opens the gate."""
        if (ctx.payload.get("user") or {}).get("title") != GATE_TITLE:
            return
        gate = Path(str(GATE_DIR))
        with (gate / "entered").open("a") as log:
            log.write(f"{ctx.seq}\n")
        deadline = time.monotonic() + GATE_TIMEOUT_SECONDS
        while not (gate / "open").exists():
            if time.monotonic() > deadline:
                raise TimeoutError("test gate never opened")
            time.sleep(0.05)


__all__ = ["app"]
