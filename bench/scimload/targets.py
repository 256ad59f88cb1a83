"""The two apps under test. Each is a Target: start(), endpoint, seed_users(), seed_group(), stop()."""

from __future__ import annotations

import json
import secrets
import time
import uuid
from abc import ABC, abstractmethod
from dataclasses import dataclass
from urllib.parse import urlsplit, urlunsplit

import httpx
import psycopg
from psycopg.types.json import Jsonb

from scimload.infra import (
    PYTHON,
    RESULTS_DIR,
    ROOT,
    AppServer,
    BackgroundProcess,
    BenchError,
    Postgres,
    Redis,
    child_env,
    free_port,
    last_json_line,
    run_command,
)
from scimload.load import Call, Endpoint, run_calls
from scimload.payloads import BULK_REQUEST, group_payload, member_patch, user_payload

PEER_DATABASE = "rollcall_bench_peer"
FLOOR_DATABASE = "rollcall_bench_floor"
ROLLCALL_DATABASE = "rollcall_bench_rollcall"
BENCH_SCHEMA = "t_bench"  # tenants.services.schema_name_for("bench")
SEED_BATCH = 500  # Bulk operations per request when seeding over HTTP
SEED_MEMBERS_PER_PATCH = 100
SEED_CONCURRENCY = 8


class Target(ABC):
    """An app under test, run by the shared production HTTP server configuration (AppServer)."""

    name: str
    label: str
    seeding: str  # how seed_users/seed_group create data, printed with the results

    def __init__(self) -> None:
        self._server: AppServer | None = None
        self._endpoint: Endpoint | None = None

    @property
    def endpoint(self) -> Endpoint:
        if self._endpoint is None:
            raise BenchError(f"{self.name} is not started")
        return self._endpoint

    @abstractmethod
    def start(self) -> None: ...

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop()
            self._server = None

    def _serve(self, wsgi_app: str, port: int, env: dict[str, str], endpoint: Endpoint) -> None:
        self._server = AppServer(self.name, wsgi_app, port, env)
        self._server.start()
        self._endpoint = endpoint
        self._server.wait_ready(
            endpoint.base_url + "ServiceProviderConfig", {"Authorization": f"Bearer {endpoint.token}"}
        )

    @property
    def server_argv(self) -> list[str]:
        return self._server.argv if self._server else []

    @abstractmethod
    def seed_users(self, prefix: str, count: int) -> list[str]:
        """Create `count` users outside any timing; return their SCIM ids in order."""

    @abstractmethod
    def seed_group(self, name: str, members: list[str]) -> str:
        """Create a group holding `members` outside any timing; return its SCIM id."""


class PeerTarget(Target):
    """django-scim2 0.23 in a stock Django project (bench/peer), own database on the same server."""

    name = "peer"
    label = "django-scim2 peer"
    seeding = "ORM bulk insert via `manage peer_seed` (peer has no /Bulk)"

    def __init__(self, postgres: Postgres) -> None:
        super().__init__()
        self.postgres = postgres
        self.env: dict[str, str] = {}

    def start(self) -> None:
        port = free_port()
        token = secrets.token_urlsafe(32)
        self.env = child_env(
            DATABASE_URL=self.postgres.recreate(PEER_DATABASE),
            DJANGO_SETTINGS_MODULE="bench.peer.peer_settings",
            PEER_BENCH_TOKEN=token,
            PEER_NETLOC=f"127.0.0.1:{port}",
        )
        run_command([PYTHON, "-m", "django", "migrate", "--noinput", "-v", "0"], self.env)
        self._serve(
            "bench.peer.wsgi:application",
            port,
            self.env,
            Endpoint(f"http://127.0.0.1:{port}/scim/v2/", token),
        )

    def _seed(self, request: dict[str, object]) -> dict[str, object]:
        out = run_command([PYTHON, "-m", "django", "peer_seed"], self.env, stdin=json.dumps(request))
        answer: dict[str, object] = json.loads(last_json_line(out))
        return answer

    def seed_users(self, prefix: str, count: int) -> list[str]:
        ids = self._seed({"action": "users", "prefix": prefix, "count": count})["ids"]
        assert isinstance(ids, list)
        return [str(i) for i in ids]

    def seed_group(self, name: str, members: list[str]) -> str:
        return str(self._seed({"action": "group", "name": name, "members": members})["id"])


class FloorTarget(Target):
    """The floor (bench/floor/app.py): a bare WSGI function over raw SQL, what the server costs at least."""

    name = "floor"
    label = "floor (WSGI + raw SQL)"
    seeding = "SQL INSERT (untimed)"

    def __init__(self, postgres: Postgres) -> None:
        super().__init__()
        self.postgres = postgres
        self.database_url = ""

    def start(self) -> None:
        from floor.app import create_schema

        port = free_port()
        token = secrets.token_urlsafe(32)
        self.database_url = self.postgres.recreate(FLOOR_DATABASE)
        create_schema(self.database_url)
        env = child_env(FLOOR_DATABASE_URL=self.database_url, FLOOR_TOKEN=token)
        self._serve("bench.floor.app:application", port, env, Endpoint(f"http://127.0.0.1:{port}/scim/v2/", token))

    def seed_users(self, prefix: str, count: int) -> list[str]:
        rows = []
        for index in range(count):
            body = user_payload(f"{prefix}-seed", index)
            rows.append((uuid.uuid4(), body["userName"], True, Jsonb(body)))
        with psycopg.connect(self.database_url) as conn, conn.cursor() as cursor:
            cursor.executemany("INSERT INTO floor_user (id, user_name, active, data) VALUES (%s, %s, %s, %s)", rows)
        return [str(row[0]) for row in rows]

    def seed_group(self, name: str, members: list[str]) -> str:
        gid = uuid.uuid4()
        with psycopg.connect(self.database_url) as conn:
            conn.execute("INSERT INTO floor_group (id, display_name) VALUES (%s, %s)", [gid, name])
            conn.execute(
                "INSERT INTO floor_member (group_id, user_id) SELECT %s, unnest(%s::uuid[])", [gid, members]
            )
        return str(gid)


@dataclass(frozen=True)
class PipelineSample:
    """The worker and beat's CPU seconds and the tenant's outbox at one moment."""

    cpu_seconds: float
    last_seq: int
    pending: int


class RollcallTarget(Target):
    """Rollcall itself (config.wsgi), one tenant and one generic-IdP connection in a fresh database.

    With `with_pipeline` (the default) the Celery worker and beat run beside the web server as
    `make run` starts them (`python -m config.processes worker|beat`, same pool and settings), so
    each create's side effects (welcome email, role recompute) share the machine with the requests.
    """

    name = "rollcall"
    label = "Rollcall"
    seeding = "SCIM POST /Bulk (500 users a request) and membership PATCHes of 100"

    def __init__(self, postgres: Postgres, redis: Redis, *, with_pipeline: bool = True) -> None:
        super().__init__()
        self.postgres = postgres
        self.redis = redis
        self.with_pipeline = with_pipeline
        self.database_url = ""
        self._pipeline: list[BackgroundProcess] = []
        if not with_pipeline:
            self.label = "Rollcall (web only)"

    def start(self) -> None:
        port = free_port()
        self.database_url = self.postgres.recreate(ROLLCALL_DATABASE)
        env = child_env(
            DATABASE_URL=self.database_url,
            REDIS_URL=self.redis.url,
            DJANGO_SETTINGS_MODULE="config.settings",
            ROLLCALL_DEBUG="0",
            ROLLCALL_DATA_DIR=str(RESULTS_DIR / "rollcall-data"),
            # The flood limits stay on (their cost is measured) but above what the load generator offers:
            # 8 threads at full speed exceed the default 1,000 requests per 10 s per connection.
            ROLLCALL_SCIM_RATE_PER_CONNECTION="10000000",
            ROLLCALL_SCIM_RATE_PER_IP="10000000",
            PORT=str(port),
            ROLLCALL_PUBLIC_URL=f"http://127.0.0.1:{port}",
        )
        manage = [PYTHON, str(ROOT / "manage.py")]
        run_command([*manage, "rollcall_migrate"], env)
        run_command(
            [*manage, "rollcall_tenant", "create", "--name", "Bench", "--slug", "bench", "--json"], env
        )
        created = json.loads(
            last_json_line(
                run_command(
                    [
                        *manage,
                        "rollcall_connection",
                        "create",
                        "--tenant",
                        "bench",
                        "--idp",
                        "generic",
                        "--json",
                    ],
                    env,
                )
            )
        )
        base_url = rebind(created["scim_base_url"], port).rstrip("/") + "/"
        if self.with_pipeline:
            self._pipeline = [BackgroundProcess("worker", env), BackgroundProcess("beat", env)]
            for process in self._pipeline:
                process.start()
        self._serve("config.wsgi:application", port, env, Endpoint(base_url, created["token"]))

    def stop(self) -> None:
        super().stop()
        for process in self._pipeline:
            process.stop()
        self._pipeline = []

    def pipeline_sample(self) -> PipelineSample | None:
        """Worker + beat CPU so far and the bench tenant's outbox (None without the pipeline)."""
        if not self._pipeline:
            return None
        for process in self._pipeline:
            process.check_running()
        with psycopg.connect(self.database_url, autocommit=True) as conn:
            row = conn.execute(
                f"SELECT coalesce(max(seq), 0), count(*) FILTER (WHERE handled_at IS NULL)"
                f" FROM {BENCH_SCHEMA}.outbox_event"
            ).fetchone()
        assert row is not None
        return PipelineSample(sum(p.cpu_seconds() for p in self._pipeline), int(row[0]), int(row[1]))

    def wait_for_pipeline(self, timeout: float = 300.0) -> PipelineSample | None:
        """Poll until the worker has handled every event (bounded); the last sample."""
        deadline = time.monotonic() + timeout
        sample = self.pipeline_sample()
        while sample is not None and sample.pending and time.monotonic() < deadline:
            time.sleep(0.5)
            sample = self.pipeline_sample()
        return sample

    def seed_users(self, prefix: str, count: int) -> list[str]:
        try:
            with self.endpoint.client() as client:
                return [
                    uid
                    for start in range(0, count, SEED_BATCH)
                    for uid in _bulk_create_users(
                        client, prefix, range(start, min(count, start + SEED_BATCH))
                    )
                ]
        except BenchError as exc:
            self.seeding = f"concurrent POST /Users, because /Bulk failed ({exc})"
            print(f"   {self.label}: {self.seeding}", flush=True)
            return seed_users_over_http(self.endpoint, f"{prefix}-post", count)

    def seed_group(self, name: str, members: list[str]) -> str:
        return seed_group_over_http(self.endpoint, name, members)


def rebind(url: str, port: int) -> str:
    """scim_base_url with its host:port replaced by the port the server is bound to."""
    return urlunsplit(urlsplit(url)._replace(netloc=f"127.0.0.1:{port}"))


def _bulk_create_users(client: httpx.Client, prefix: str, indexes: range) -> list[str]:
    operations = [
        {"method": "POST", "path": "/Users", "bulkId": f"{prefix}{i}", "data": user_payload(prefix, i)}
        for i in indexes
    ]
    response = client.post(
        "Bulk",
        content=json.dumps({"schemas": [BULK_REQUEST], "Operations": operations}).encode(),
        headers={"Content-Type": "application/scim+json"},
    )
    if response.status_code != 200:
        raise BenchError(f"seeding via /Bulk failed: HTTP {response.status_code} {response.text[:300]}")
    results = response.json().get("Operations", [])
    ids = []
    for result in results:
        if str(result.get("status")) != "201" or not result.get("location"):
            raise BenchError(f"seeding via /Bulk: an operation failed: {json.dumps(result)[:300]}")
        ids.append(str(result["location"]).rstrip("/").rsplit("/", 1)[-1])
    if len(ids) != len(indexes):
        raise BenchError(f"seeding via /Bulk: sent {len(indexes)} operations, got {len(ids)} results")
    return ids


def seed_users_over_http(endpoint: Endpoint, prefix: str, count: int) -> list[str]:
    """Concurrent POST /Users (untimed set-up); every one must succeed."""
    calls = [
        Call("POST", "Users", user_payload(prefix, i), extract=lambda r: str(r.json()["id"]))
        for i in range(count)
    ]
    result, outcomes = run_calls(endpoint, calls, SEED_CONCURRENCY, name="seed", description="seed users")
    if result.error_count:
        raise BenchError(f"seeding {count} users: {result.error_count} POSTs failed: {dict(result.errors)}")
    return [str(o.value) for o in outcomes]


def seed_group_over_http(endpoint: Endpoint, name: str, members: list[str]) -> str:
    """POST /Groups, then PATCH members in sequential batches (untimed set-up)."""
    with endpoint.client() as client:
        response = client.post(
            "Groups",
            content=json.dumps(group_payload(name)).encode(),
            headers={"Content-Type": "application/scim+json"},
        )
    if response.status_code != 201:
        raise BenchError(f"seeding group {name}: HTTP {response.status_code} {response.text[:300]}")
    group_id = str(response.json()["id"])
    batches = [
        members[i : i + SEED_MEMBERS_PER_PATCH] for i in range(0, len(members), SEED_MEMBERS_PER_PATCH)
    ]
    calls = [Call("PATCH", f"Groups/{group_id}", member_patch("add", batch)) for batch in batches]
    result, _ = run_calls(endpoint, calls, 1, name="seed", description="seed group")
    if result.error_count:
        raise BenchError(
            f"seeding group {name}: {result.error_count} membership PATCHes failed: {dict(result.errors)}"
        )
    return group_id
