"""`make run`'s real process layout in tests: the supervisor (`manage.py rollcall_run`) as a subprocess
on the test database, plus /proc helpers to find and kill its children. Every wait is bounded."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

ROOT = Path(__file__).resolve().parents[2]


def wait_until(predicate: Callable[[], Any], *, timeout: float, interval: float = 0.1, what: str) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def _stat(pid: int) -> tuple[int, int] | None:
    """(ppid, pgid) of a live process, None when it is gone (or a zombie)."""
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    fields = raw[raw.rindex(")") + 2 :].split()
    if fields[0] == "Z":
        return None
    return int(fields[1]), int(fields[2])


def alive(pid: int) -> bool:
    return _stat(pid) is not None


def children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[0] == pid:
                found.append(int(entry.name))
    return sorted(found)


def in_group(pgid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            stat = _stat(int(entry.name))
            if stat is not None and stat[1] == pgid:
                found.append(int(entry.name))
    return found


def cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace")
    except OSError:
        return ""


@dataclass
class RollcallRun:
    """One supervisor; `children()` maps web/worker/beat to their (main) pids."""

    env: dict[str, str]
    port: int
    logfile: Path
    args: tuple[str, ...] = ()
    proc: subprocess.Popen[bytes] | None = None
    seen_groups: set[int] = field(default_factory=set)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> RollcallRun:
        with self.logfile.open("ab") as log:
            self.proc = subprocess.Popen(
                [sys.executable, str(ROOT / "manage.py"), "rollcall_run", *self.args],
                cwd=ROOT, env=self.env, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                start_new_session=True,  # like a terminal: signals reach only what the test sends
            )  # fmt: skip
        return self

    def log(self) -> str:
        return self.logfile.read_text(errors="replace") if self.logfile.exists() else ""

    def healthz(self, headers: Mapping[str, str] | None = None) -> httpx.Response | None:
        try:
            return httpx.get(self.base_url + "/healthz", headers=dict(headers or {}), timeout=3)
        except httpx.HTTPError:
            return None

    def wait_healthy(self, timeout: float = 120.0) -> None:
        def ready() -> bool:
            if self.proc is not None and self.proc.poll() is not None:
                raise AssertionError(f"rollcall_run exited with {self.proc.returncode}:\n{self.log()[-3000:]}")
            response = self.healthz()
            return response is not None and response.status_code == 200

        wait_until(ready, timeout=timeout, interval=0.25, what=f"healthz 200 ({self.logfile})")
        self.seen_groups.update(self.children().values())

    def children(self) -> dict[str, int]:
        assert self.proc is not None
        found: dict[str, int] = {}
        for pid in children_of(self.proc.pid):
            line = cmdline(pid)
            name = "beat" if " beat " in line else "worker" if " worker " in line else "web"
            found[name] = pid
        return found

    def pool_processes(self) -> list[int]:
        return children_of(self.children()["worker"])

    def signal(self, signum: int) -> None:
        assert self.proc is not None
        os.kill(self.proc.pid, signum)

    def wait_exit(self, timeout: float = 30.0) -> int:
        assert self.proc is not None
        return self.proc.wait(timeout)

    def leftovers(self) -> list[int]:
        """Processes still alive in any process group a child of this supervisor led."""
        return [pid for group in self.seen_groups for pid in in_group(group)]

    def stop(self) -> None:
        """Test clean-up: SIGTERM, then SIGKILL of everything this run started."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            self.seen_groups.update(self.children().values())
            self.signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.signal(signal.SIGKILL)
                self.proc.wait(10)
        for pid in self.leftovers():
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
