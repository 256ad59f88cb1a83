"""`make run`'s supervisor as a user meets it: restarts a crashed child, refuses a second instance,
prints URLs that work, shows a quiet terminal, and leaves nothing behind however it is stopped."""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from config import supervisor as supervisor_module
from config.supervisor import Child, Supervisor
from tests.ops.conftest import supervisor_env
from tests.provisioning.infra import RedisServer
from tests.support.processes import ROOT, RollcallRun, alive, wait_until

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def _port_free(port: int) -> bool:
    """Bindable by a server (SO_REUSEADDR, as every HTTP server sets: TIME_WAIT does not count)."""
    with socket.socket() as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def _banner_value(log: str, label: str) -> str:
    match = re.search(rf"{label}\s*:\s*(\S+)", log)
    assert match, f"{label!r} not in the banner:\n{log}"
    return match.group(1)


@pytest.fixture
def redis_for_run(private_redis: RedisServer) -> RedisServer:
    if private_redis.proc is None:
        private_redis.start()
    private_redis.client().flushall()
    return private_redis


def test_make_run_restarts_a_crash_refuses_a_second_instance_and_stops_on_sighup(redis_for_run, tmp_path: Path):
    env = supervisor_env(tmp_path, redis_url=redis_for_run.url)
    run = RollcallRun(env, int(env["PORT"]), tmp_path / "run.log", args=("--demo",))
    try:
        run.start().wait_healthy()
        wait_until(lambda: "Demo SCIM token" in run.log(), timeout=30, what="the banner")
        log = run.log()
        token, scim_url = _banner_value(log, "Demo SCIM token"), _banner_value(log, "Demo SCIM URL")
        auth = {"Authorization": f"Bearer {token}"}
        assert httpx.get(f"{scim_url}/Users", headers=auth, timeout=10).status_code == 200

        # A quiet terminal: the banner and nothing alarming (no tracebacks, warnings, 503 logs).
        for noise in ("Traceback", "WARNING", "ERROR", "XDG_RUNTIME_DIR", "staticfiles.W004", "Service Unavailable", "celery@"):
            assert noise not in log, f"{noise!r} reached the terminal:\n{log}"

        # Static files are served (the console is styled).
        css = httpx.get(f"{run.base_url}/static/admin/css/base.css", timeout=10)
        assert css.status_code == 200 and "text/css" in css.headers["content-type"]

        # The CLI in another shell (its own PORT) prints the running instance's URL.
        cli_env = {**env, "PORT": "8000"}
        out = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "rollcall_connection", "create", "--tenant", "acme", "--idp", "generic", "--json"],
            cwd=ROOT, env=cli_env, capture_output=True, text=True, timeout=60, check=True,
        )  # fmt: skip
        created = json.loads(out.stdout)
        assert created["scim_base_url"].startswith(f"{run.base_url}/scim/v2/")
        assert out.stderr == "", out.stderr
        assert httpx.get(f"{created['scim_base_url']}/Users", headers={"Authorization": f"Bearer {created['token']}"}, timeout=10).status_code == 200

        # A second `make run` on the same data directory refuses clearly and revokes nothing.
        second_env = {**env, "PORT": str(int(env["PORT"]) + 1)}
        second = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "rollcall_run", "--demo"],
            cwd=ROOT, env=second_env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert second.returncode == 1 and run.proc is not None
        assert "already running" in second.stderr and str(run.proc.pid) in second.stderr and run.base_url in second.stderr
        assert httpx.get(f"{scim_url}/Users", headers=auth, timeout=10).status_code == 200

        # A crashed child is restarted (with the reason logged); the product stays up.
        beat = run.children()["beat"]
        run.seen_groups.add(beat)
        os.killpg(beat, signal.SIGKILL)
        wait_until(lambda: run.children().get("beat") not in (None, beat), timeout=30, what="beat to be restarted")
        assert "beat was killed by SIGKILL" in run.log() and "restarting it in 1 s" in run.log()
        run.seen_groups.update(run.children().values())
        assert run.proc.poll() is None
        assert httpx.get(f"{scim_url}/Users", headers=auth, timeout=10).status_code == 200

        # The terminal is closed: SIGHUP stops everything cleanly.
        run.signal(signal.SIGHUP)
        assert run.wait_exit(40) == 0
        assert "Rollcall stopped." in run.log()
        wait_until(lambda: not run.leftovers(), timeout=20, what="every child process to exit")
        assert _port_free(run.port)
        assert not (Path(env["ROLLCALL_DATA_DIR"]) / "run.json").exists()
    finally:
        run.stop()


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGKILL], ids=["ctrl-c", "sigkill"])
def test_nothing_is_left_running_after_the_supervisor_goes(redis_for_run, tmp_path: Path, signum: int):
    env = supervisor_env(tmp_path, redis_url=redis_for_run.url)
    run = RollcallRun(env, int(env["PORT"]), tmp_path / "run.log")
    try:
        run.start().wait_healthy()
        pool = run.pool_processes()
        assert pool
        run.signal(signum)
        code = run.wait_exit(40)
        assert code == (0 if signum == signal.SIGINT else -signal.SIGKILL)
        # SIGKILL gives the supervisor no chance to clean up: the kernel's PDEATHSIG does it.
        wait_until(lambda: not run.leftovers() and not any(alive(p) for p in pool), timeout=30, what="the children to die")
        assert _port_free(run.port), "the next `make run` can bind the port"
    finally:
        run.stop()


def test_make_run_refuses_a_port_another_program_holds(redis_for_run, tmp_path: Path):
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        env = supervisor_env(tmp_path, redis_url=redis_for_run.url, PORT=str(holder.getsockname()[1]))
        done = subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), "rollcall_run"],
            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
    assert done.returncode == 1
    assert "already in use by another program" in done.stderr


def _crasher(tmp_path: Path, code: int = 3) -> Child:
    return Child("crasher", [sys.executable, "-c", f"import sys; sys.exit({code})"], dict(os.environ), tmp_path)


def _supervise(supervisor: Supervisor, rounds: int) -> None:
    for _ in range(rounds):
        if supervisor.stopping:
            return
        supervisor.check_children()
        time.sleep(0.02)


def test_repeated_fast_crashes_make_the_supervisor_give_up_non_zero(tmp_path: Path, monkeypatch, capsys):
    monkeypatch.setattr(supervisor_module, "BACKOFF_CAP_SECONDS", 0.01)
    supervisor = Supervisor([_crasher(tmp_path)])
    supervisor.start_all()
    _supervise(supervisor, 2000)
    assert supervisor.stopping and supervisor.exit_code == 1
    child = supervisor.children[0]
    assert child.fast_crashes == supervisor_module.MAX_FAST_CRASHES and child.restarts == supervisor_module.MAX_FAST_CRASHES - 1
    err = capsys.readouterr().err
    assert "crasher exited with code 3" in err and "giving up, stopping everything" in err


def test_a_child_that_ran_a_while_before_crashing_is_always_restarted(tmp_path: Path, monkeypatch):
    monkeypatch.setattr(supervisor_module, "BACKOFF_CAP_SECONDS", 0.01)
    monkeypatch.setattr(supervisor_module, "FAST_CRASH_SECONDS", 0.0)  # every crash counts as "after a while"
    supervisor = Supervisor([_crasher(tmp_path)])
    supervisor.start_all()
    _supervise(supervisor, 300)
    child = supervisor.children[0]
    assert not supervisor.stopping and child.restarts >= supervisor_module.MAX_FAST_CRASHES + 2
    supervisor.stop_all()
