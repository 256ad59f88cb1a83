"""`make run`: one supervisor for web, worker and beat that survives a crashed child and leaves nothing behind.

- Children run in process groups of their own (a Ctrl-C reaches only the supervisor, which stops
  them in order) and get PR_SET_PDEATHSIG: if the supervisor itself dies, even by SIGKILL, the
  kernel sends each child SIGTERM, and each takes its own pool/workers down with it.
- SIGINT, SIGTERM and SIGHUP (terminal closed) stop everything cleanly.
- A child that exits is restarted with exponential backoff, with the reason logged; after
  MAX_FAST_CRASHES crashes that each came within FAST_CRASH_SECONDS of a start, the supervisor
  gives up, stops everything and exits non-zero.
- One instance per data directory (config.instance): a second `make run` refuses with the
  first one's pid and URL instead of revoking its demo token.
"""

from __future__ import annotations

import contextlib
import ctypes
import errno
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.management import call_command

from config.instance import AlreadyRunning, InstanceLock
from config.processes import process_commands

if TYPE_CHECKING:
    from tenants.demo import DemoAccess

STOP_GRACE_SECONDS = 10.0
FAST_CRASH_SECONDS = 30.0
MAX_FAST_CRASHES = 5
BACKOFF_CAP_SECONDS = 30.0
POLL_SECONDS = 0.2
PR_SET_PDEATHSIG = 1

_libc = ctypes.CDLL(None, use_errno=True)


def say(text: str, *, err: bool = False) -> None:
    """Print, but never fail: after SIGHUP the terminal is gone and writes raise EIO."""
    stream = sys.stderr if err else sys.stdout
    with contextlib.suppress(OSError, ValueError):
        stream.write(text + "\n")
        stream.flush()


def _die_with_parent(parent_pid: int) -> Callable[[], None]:
    def preexec() -> None:
        # Runs in the child between fork and exec: only async-signal-safe work.
        _libc.prctl(PR_SET_PDEATHSIG, signal.SIGTERM)
        if os.getppid() != parent_pid:  # the supervisor died before prctl took effect
            os._exit(1)

    return preexec


def describe_exit(code: int) -> str:
    if code < 0:
        with contextlib.suppress(ValueError):
            return f"was killed by {signal.Signals(-code).name}"
        return f"was killed by signal {-code}"
    return f"exited with code {code}"


@dataclass
class Child:
    name: str
    argv: list[str]
    env: dict[str, str]
    cwd: Path
    proc: subprocess.Popen[bytes] | None = None
    started_at: float = 0.0
    fast_crashes: int = 0
    restart_at: float | None = None
    restarts: int = 0

    def start(self) -> None:
        self.proc = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=self.cwd,
            stdin=subprocess.DEVNULL,
            process_group=0,
            preexec_fn=_die_with_parent(os.getpid()),
        )
        self.started_at = time.monotonic()
        self.restart_at = None

    def running(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def signal_group(self, signum: int) -> None:
        if self.proc is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signum)


class Supervisor:
    def __init__(self, children: list[Child]) -> None:
        self.children = children
        self.stopping = False
        self.exit_code = 0

    def request_stop(self, signum: int, _frame: object) -> None:
        self.stopping = True

    def start_all(self) -> None:
        for child in self.children:
            child.start()

    def check_children(self) -> None:
        """Restart exited children with backoff; give up after repeated fast crashes."""
        now = time.monotonic()
        for child in self.children:
            if child.restart_at is not None:
                if now >= child.restart_at and not self.stopping:
                    child.restarts += 1
                    say(f"rollcall: restarting {child.name} (restart {child.restarts})")
                    child.start()
                continue
            if child.proc is None or child.proc.poll() is None:
                continue
            child.signal_group(signal.SIGKILL)  # what it left behind (e.g. pool processes), group id still held
            lived = now - child.started_at
            child.fast_crashes = child.fast_crashes + 1 if lived < FAST_CRASH_SECONDS else 1
            reason = f"rollcall: {child.name} {describe_exit(child.proc.returncode)} after {lived:.1f} s"
            if child.fast_crashes >= MAX_FAST_CRASHES:
                say(
                    f"{reason}; it crashed {child.fast_crashes} times in a row within {FAST_CRASH_SECONDS:.0f} s"
                    " of starting: giving up, stopping everything",
                    err=True,
                )
                self.exit_code = 1
                self.stopping = True
                return
            delay = min(2.0 ** (child.fast_crashes - 1), BACKOFF_CAP_SECONDS)
            say(f"{reason}; restarting it in {delay:.0f} s", err=True)
            child.restart_at = now + delay

    def stop_all(self) -> None:
        """SIGTERM each child (web first: no new requests), which stops its own pool or workers
        gracefully; then SIGKILL whatever is left in its process group after the grace period."""
        running = [child for child in self.children if child.running()]
        for child in running:
            assert child.proc is not None
            child.proc.terminate()
        deadline = time.monotonic() + STOP_GRACE_SECONDS
        for child in running:
            assert child.proc is not None
            try:
                child.proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
            except subprocess.TimeoutExpired:
                say(f"rollcall: {child.name} did not stop within {STOP_GRACE_SECONDS:.0f} s; killing it", err=True)
                child.proc.kill()
                child.proc.wait()
            child.signal_group(signal.SIGKILL)  # anything the child left in its group (pool processes)


def port_is_free(host: str, port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno in (errno.EADDRINUSE, errno.EACCES):
                return False
            raise
    return True


def web_answers(port: int) -> bool:
    """The web process answers /healthz at all (a 503 while the worker warms up counts)."""
    try:
        urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=1)
    except urllib.error.HTTPError:
        return True
    except OSError:
        return False
    return True


def banner(base: str, demo: DemoAccess | None) -> str:
    lines = ["", "Rollcall is running (Ctrl-C stops web, worker and beat)."]
    if demo is not None:
        password = (
            f", password '{demo.operator_password}'" if demo.operator_password else ", password as printed on first run"
        )
        lines += [
            f"  Operator console : {base}/console/   (user '{demo.operator_username}'{password})",
            f"  Demo setup link  : {demo.setup_url}",
            f"  Demo SCIM URL    : {demo.scim_base_url}",
            f"  Demo SCIM token  : {demo.token}",
            f"  Health           : {base}/healthz",
            "  Try it:",
            f"    curl -H 'Authorization: Bearer {demo.token}' {demo.scim_base_url}/Users",
        ]
    else:
        lines += [
            f"  Operator console : {base}/console/   (no operator yet? ./rollcall rollcall_operator create)",
            f"  Health           : {base}/healthz",
        ]
    return "\n".join([*lines, ""])


def run(*, demo: bool) -> int:
    port = int(settings.PORT)
    data_dir = Path(settings.DATA_DIR)
    lock = InstanceLock(data_dir)
    try:
        lock.claim()
    except AlreadyRunning as exc:
        say(f"rollcall: {exc}. Stop it first (Ctrl-C in its terminal, or `make stop`).", err=True)
        return 1
    try:
        return _run_claimed(lock, port, data_dir, demo=demo)
    finally:
        lock.release()


def _run_claimed(lock: InstanceLock, port: int, data_dir: Path, *, demo: bool) -> int:
    if not port_is_free(settings.BIND_HOST, port):
        say(f"rollcall: port {port} on {settings.BIND_HOST} is already in use by another program; set PORT to a free one.", err=True)
        return 1
    supervisor = Supervisor([])
    for signum in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP):
        signal.signal(signum, supervisor.request_stop)

    call_command("rollcall_migrate", verbosity=0)
    call_command("collectstatic", interactive=False, verbosity=0)
    access = None
    if demo:
        from tenants.demo import ensure_demo

        access = ensure_demo()
    lock.publish(port=port, public_url=settings.PUBLIC_BASE_URL)
    # Children get the servers this process resolved (embedded ones included) through the environment.
    env = dict(
        os.environ,
        DATABASE_URL=settings.DATABASE_URL,
        REDIS_URL=settings.REDIS_URL,
        PORT=str(port),
        ROLLCALL_DATA_DIR=str(data_dir),
        LOG_LEVEL=settings.PROCESS_LOG_LEVEL,
        # Celery warns on every start as root (containers and CI run as root; the Dockerfile does not).
        PYTHONWARNINGS="ignore:You're running the worker with superuser privileges",
    )
    supervisor.children = [Child(name, argv, env, settings.BASE_DIR) for name, argv in process_commands(port).items()]
    if supervisor.stopping:
        return 0
    supervisor.start_all()
    announced = False
    try:
        while not supervisor.stopping:
            supervisor.check_children()
            if not announced and supervisor.children[0].running() and web_answers(port):
                say(banner(settings.PUBLIC_BASE_URL, access))
                announced = True
            time.sleep(POLL_SECONDS)
    finally:
        supervisor.stop_all()
    say("Rollcall stopped.")
    return supervisor.exit_code
