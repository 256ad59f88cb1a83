"""`make run`: one process that starts web, worker and beat on embedded defaults and stops them together."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from django.conf import settings
from django.core.management import call_command

BASE_DIR = Path(__file__).resolve().parent.parent
STOP_GRACE_SECONDS = 10


def child_commands(port: int) -> dict[str, list[str]]:
    python = sys.executable
    data = BASE_DIR / ".data"
    return {
        "web": [
            python, "-m", "gunicorn", "config.wsgi:application",
            "--bind", f"127.0.0.1:{port}",
            "--worker-class", "gthread", "--workers", os.environ.get("WEB_CONCURRENCY", "2"),
            "--threads", "4", "--graceful-timeout", "5", "--log-level", "warning",
        ],
        "worker": [
            python, "-m", "celery", "-A", "config", "worker",
            "--loglevel", "INFO", "--concurrency", os.environ.get("WORKER_CONCURRENCY", "2"),
            "--hostname", "worker@%h",
        ],
        "beat": [
            python, "-m", "celery", "-A", "config", "beat", "--loglevel", "INFO",
            "--schedule", str(data / "celerybeat-schedule"),
        ],
    }


def _banner(port: int) -> str:
    from tenants.demo import ensure_demo

    demo = ensure_demo()
    base = settings.PUBLIC_BASE_URL
    lines = [
        "",
        "Rollcall is running (Ctrl-C stops web, worker and beat).",
        f"  Operator console : {base}/console/   (user '{demo.operator_username}'"
        + (f", password '{demo.operator_password}')" if demo.operator_password else ", password as printed on first run)"),
        f"  Demo setup link  : {demo.setup_url}",
        f"  Demo SCIM URL    : {demo.scim_base_url}",
        f"  Demo SCIM token  : {demo.token}",
        f"  Health / metrics : {base}/healthz  {base}/metrics",
        "  Try it:",
        f"    curl -H 'Authorization: Bearer {demo.token}' {demo.scim_base_url}/Users",
        "",
    ]
    return "\n".join(lines)


def run() -> int:
    port = int(os.environ.get("PORT", "8000"))
    # Children get the servers this process resolved (embedded ones included) through the environment.
    env = dict(os.environ, DATABASE_URL=settings.DATABASE_URL, REDIS_URL=settings.REDIS_URL, PORT=str(port))
    (BASE_DIR / ".data").mkdir(exist_ok=True)
    call_command("rollcall_migrate", verbosity=0)
    banner = _banner(port)
    children: dict[str, subprocess.Popen[bytes]] = {
        name: subprocess.Popen(cmd, env=env, cwd=BASE_DIR, start_new_session=True)
        for name, cmd in child_commands(port).items()
    }
    stopping = False

    def stop(signum: int, _frame: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)
    _wait_for_web(port, children["web"])
    print(banner, flush=True)
    exit_code = 0
    while not stopping:
        for name, proc in children.items():
            if proc.poll() is not None:
                print(f"{name} exited with code {proc.returncode}; stopping everything", flush=True)
                exit_code = 1
                stopping = True
        time.sleep(0.5)
    _stop_children(children)
    print("Rollcall stopped.", flush=True)
    return exit_code


def _wait_for_web(port: int, web: subprocess.Popen[bytes]) -> None:
    import urllib.request

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and web.poll() is None:
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2)
            return
        except OSError as exc:
            if getattr(exc, "code", None) == 503:  # up, but the worker is not ready yet
                return
            time.sleep(0.3)


def _stop_children(children: dict[str, subprocess.Popen[bytes]]) -> None:
    for proc in children.values():
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_GRACE_SECONDS
    for proc in children.values():
        try:
            proc.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
