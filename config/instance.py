"""The running `make run` instance, recorded under the data directory: one per data directory.

`.data/run.lock` is held (flock) by the supervisor for as long as it lives, so a record whose lock
is free is stale whatever its pid says (the kernel drops the lock when the process dies, even on
SIGKILL). `.data/run.json` says where the instance listens; the CLI prints URLs from it, so a
`PORT=18700 make run` in one shell and `rollcall_connection create` in another agree.

Imports nothing from Django: settings read the record to default the public URL.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import IO


@dataclass(frozen=True)
class RunRecord:
    pid: int
    port: int
    public_url: str
    started_at: float


class AlreadyRunning(Exception):
    def __init__(self, record: RunRecord | None) -> None:
        self.record = record
        where = f" (pid {record.pid}, {record.public_url})" if record else ""
        super().__init__(f"Rollcall is already running from this directory{where}")


def _paths(data_dir: Path) -> tuple[Path, Path]:
    return data_dir / "run.lock", data_dir / "run.json"


def _read(path: Path) -> RunRecord | None:
    try:
        raw = json.loads(path.read_text())
        return RunRecord(int(raw["pid"]), int(raw["port"]), str(raw["public_url"]), float(raw["started_at"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _lock_is_held(lock_path: Path) -> bool:
    if not lock_path.exists():
        return False
    with lock_path.open("a") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(handle, fcntl.LOCK_UN)
        return False


def running_instance(data_dir: Path) -> RunRecord | None:
    """The live instance of this data directory, or None (no record, or a stale one)."""
    lock_path, record_path = _paths(data_dir)
    if not record_path.exists() or not _lock_is_held(lock_path):
        return None
    return _read(record_path)


class InstanceLock:
    """Held by the supervisor: claim() before starting anything, release() after everything stopped."""

    def __init__(self, data_dir: Path) -> None:
        self.lock_path, self.record_path = _paths(data_dir)
        self._handle: IO[str] | None = None

    def claim(self) -> None:
        self.lock_path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.lock_path.open("a")
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.close()
            raise AlreadyRunning(_read(self.record_path)) from None
        self._handle = handle
        with contextlib.suppress(FileNotFoundError):
            self.record_path.unlink()  # a stale record of a killed instance

    def publish(self, *, port: int, public_url: str) -> RunRecord:
        record = RunRecord(os.getpid(), port, public_url, time.time())
        tmp = self.record_path.with_suffix(".tmp")
        tmp.write_text(json.dumps(asdict(record)))
        tmp.replace(self.record_path)
        return record

    def release(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.record_path.unlink()
        if self._handle is not None:
            fcntl.flock(self._handle, fcntl.LOCK_UN)
            self._handle.close()
            self._handle = None
