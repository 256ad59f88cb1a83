"""`python -m config.probe worker|beat`: a container health check for the processes without HTTP.

Exits 0 when this host's worker (or beat) recorded a heartbeat in Redis within the last minute
(provisioning.celery_setup records one every 15 s), 1 otherwise. The web container's check is
GET /healthz.
"""

from __future__ import annotations

import os
import socket
import sys
import time


def main(argv: list[str]) -> int:
    if argv not in (["worker"], ["beat"]):
        print("usage: python -m config.probe worker|beat", file=sys.stderr)
        return 2
    import django

    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    django.setup()
    import redis

    from observability.heartbeat import HEARTBEAT_KEY, HEARTBEAT_STALE_SECONDS
    from observability.metrics import redis_client

    host = socket.gethostname()
    key = f"{HEARTBEAT_KEY}worker:worker@{host}" if argv == ["worker"] else f"{HEARTBEAT_KEY}beat:{host}"
    try:
        raw = redis_client().get(key)
    except redis.RedisError as exc:
        print(f"redis unavailable: {type(exc).__name__}", file=sys.stderr)
        return 1
    age = time.time() - float(raw) if raw is not None else None
    if age is None or age > HEARTBEAT_STALE_SECONDS:
        print(f"no fresh heartbeat for {key}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
