"""`make stop`: stop the running `make run` of this data directory, then the embedded servers.

Needed only when the supervisor's terminal is gone or the supervisor was SIGKILLed (its children
die with it, the embedded PostgreSQL and Redis do not). Imports nothing from Django, so it never
starts the servers it is asked to stop.
"""

from __future__ import annotations

import os
import signal
import sys
import time

from config.embedded import data_dir, stop_all
from config.instance import running_instance

STOP_WAIT_SECONDS = 30.0


def stop_instance() -> str | None:
    record = running_instance(data_dir())
    if record is None:
        return None
    os.kill(record.pid, signal.SIGTERM)
    deadline = time.monotonic() + STOP_WAIT_SECONDS
    while running_instance(data_dir()) is not None and time.monotonic() < deadline:
        time.sleep(0.1)
    if running_instance(data_dir()) is not None:
        os.kill(record.pid, signal.SIGKILL)  # its children get SIGTERM from the kernel (PDEATHSIG)
    return f"stopped Rollcall (pid {record.pid}, {record.public_url})"


def main() -> int:
    stopped = stop_instance()
    print(stopped or "no Rollcall instance was running")
    servers = stop_all()
    print("stopped embedded " + " and ".join(servers) if servers else "no embedded server was running")
    return 0


if __name__ == "__main__":
    sys.exit(main())
