"""A test-only job runner of five steps whose third step waits at a gate (a file), so a test can kill
the worker in the middle of a step. Registered in the test process and, when ROLLCALL_TEST_GATE_DIR
is set, in the worker subprocesses (tests.provisioning.worker_app)."""

from __future__ import annotations

import os
import time
from pathlib import Path

from console.jobs import JobStep, StepOutcome, register_runner

GATED_JOB = "test_gated_steps"
GATED_STEP = 3
STEPS = 5
GATE_TIMEOUT_SECONDS = 60.0


@register_runner(GATED_JOB, needs_tenant=False)
def gated_steps(step: JobStep) -> StepOutcome:
    """Count to five; in step three, note the entry and wait until the test opens the gate."""
    done = step.state.setdefault("done", [])
    number = len(done) + 1
    gate_dir = os.environ.get("ROLLCALL_TEST_GATE_DIR")
    if number == GATED_STEP and gate_dir:
        gate = Path(gate_dir)
        with (gate / "job-entered").open("a") as log:
            log.write(f"{number}\n")
        deadline = time.monotonic() + GATE_TIMEOUT_SECONDS
        while not (gate / "job-open").exists():
            if time.monotonic() > deadline:
                raise TimeoutError("test gate never opened")
            time.sleep(0.05)
    done.append(number)
    return StepOutcome(done=number == STEPS, progress_done=number, progress_total=STEPS)
