"""Issue 17 item 1: slow clients must not take the web tier down.

The HTTP server is started exactly as `make run` and compose start it (config.webserver), on the
test database. 200 half-open connections (request line and part of a header, then nothing) are
held for 30 s while authenticated SCIM requests keep being answered. The same attack on the
previous server (gunicorn gthread) reproduces the outage: that test documents why it was replaced.
"""

from __future__ import annotations

import json
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx
import pytest

from config.webserver import DEFAULT_SERVER, server_command
from tenants.services import create_connection
from tests.ops.conftest import supervisor_env
from tests.provisioning.infra import RedisServer
from tests.support.actors import TEST_ACTOR
from tests.support.processes import ROOT, wait_until
from tests.support.tenants import ensure_tenant

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
HALF_OPEN = 200
PROBE_EVERY = 0.5
PROBE_TIMEOUT = 5.0


@contextmanager
def web_server(server: str, env: dict[str, str], logfile: Path) -> Iterator[int]:
    port = int(env["PORT"])
    argv = server_command(host="127.0.0.1", port=port, workers=2, server=server)
    with logfile.open("ab") as log:
        proc = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        def up() -> bool:
            assert proc.poll() is None, logfile.read_text()
            try:
                httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1)
                return True
            except httpx.HTTPError:
                return False

        wait_until(up, timeout=60, what=f"{server} to listen")
        yield port
    finally:
        proc.terminate()
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def half_open_connections(port: int, count: int) -> list[socket.socket]:
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=5)
        sock.sendall(b"GET /scim/v2/x/Users HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        sockets.append(sock)
    return sockets


def probe_while_held(port: int, scim_path: str, token: str, hold: float) -> tuple[int, int]:
    """(answered 200, sent) for SCIM GETs sent every PROBE_EVERY seconds for `hold` seconds."""
    ok = sent = 0
    deadline = time.monotonic() + hold
    with httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=PROBE_TIMEOUT) as client:
        while time.monotonic() < deadline:
            started = time.monotonic()
            sent += 1
            with suppress(httpx.HTTPError):
                ok += client.get(f"http://127.0.0.1:{port}{scim_path}").status_code == 200
            time.sleep(max(0.0, PROBE_EVERY - (time.monotonic() - started)))
    return ok, sent


@pytest.fixture
def scim_target(private_redis: RedisServer, tmp_path: Path) -> tuple[dict[str, str], str, str]:
    if private_redis.proc is None:
        private_redis.start()
    issued = create_connection(tenant=ensure_tenant("slowloris", "Slow Inc"), idp="generic", actor=TEST_ACTOR)
    env = supervisor_env(tmp_path, redis_url=private_redis.url)
    return env, f"/scim/v2/{issued.connection.id}/Users?count=1", issued.token


def test_200_half_open_connections_held_30s_do_not_stop_scim_requests(scim_target, tmp_path):
    env, path, token = scim_target
    assert DEFAULT_SERVER == "waitress"
    with web_server(DEFAULT_SERVER, env, tmp_path / "web.log") as port:
        attackers = half_open_connections(port, HALF_OPEN)
        try:
            ok, sent = probe_while_held(port, path, token, hold=30.0)
        finally:
            for sock in attackers:
                sock.close()
    assert sent >= 50
    assert ok == sent, f"{sent - ok} of {sent} SCIM requests failed while {HALF_OPEN} slow clients were connected"


def test_the_previous_server_gunicorn_gthread_stops_answering_under_the_same_attack(scim_target, tmp_path):
    """The outage of issue 17, reproduced: every gthread thread blocks reading a slow client."""
    env, path, token = scim_target
    with web_server("gunicorn", env, tmp_path / "web.log") as port:
        assert probe_while_held(port, path, token, hold=1.0)[0] >= 1  # healthy before the attack
        attackers = half_open_connections(port, HALF_OPEN)
        try:
            ok, sent = probe_while_held(port, path, token, hold=10.0)
        finally:
            for sock in attackers:
                sock.close()
    assert ok == 0, f"gunicorn gthread answered {ok} of {sent} under attack"


def _read_response(sock: socket.socket) -> str:
    """One whole HTTP response: the head and Content-Length bytes of body (they may arrive apart)."""
    data = b""
    for _ in range(100):  # bounded: a response of a few hundred bytes
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            length = next(
                (int(line.split(b":", 1)[1]) for line in head.split(b"\r\n") if line.lower().startswith(b"content-length:")),
                0,
            )
            if len(body) >= length:
                break
        chunk = sock.recv(65536)
        if not chunk:
            break
        data += chunk
    return data.decode()


def test_answers_the_server_gives_before_the_app_are_scim_error_documents(scim_target, tmp_path):
    """Headers over waitress's limit (431) and a malformed request line (400) never reach Django."""
    env, path, token = scim_target
    with web_server(DEFAULT_SERVER, env, tmp_path / "web.log") as port:
        huge = httpx.get(
            f"http://127.0.0.1:{port}{path}",
            headers={"Authorization": f"Bearer {token}", "X-Padding": "a" * 300_000},
            timeout=10,
        )
        with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
            sock.sendall(b"GET /scim/v2/x/Users HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: nope\r\n\r\n")
            raw = _read_response(sock)
    assert huge.status_code == 431 and huge.headers["content-type"] == "application/scim+json"
    assert huge.json()["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:Error"]
    assert huge.json()["status"] == "431"
    head, _, body = raw.partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 400") and "application/scim+json" in head
    assert json.loads(body)["status"] == "400"
