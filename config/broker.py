"""Broker connection hardening: a Redis restart must not kill the Celery worker.

Celery 5.7 closes the broken connection inside `on_connection_error_after_connected`, after
`connection.collect()` has already detached the transport (`transport.client = None`). Closing
the still-open default channel then tries to restore unacknowledged messages, which needs a new
Redis client, whose parameters come from `transport.client.hostname`: AttributeError. That is not
a connection error, so `ignore_errors` lets it through and the worker dies with "Unrecoverable
error: AttributeError: 'NoneType' object has no attribute 'hostname'" (issue 17, reproduced by
tests/ops/test_faults.py whenever messages were unacked when Redis went away).

The channel below reports a detached transport as what it is, a lost connection: the close
ignores it, the consumer reconnects with the usual backoff, and the unacked messages come back
through the visibility timeout (or, if Redis lost them, through the outbox sweeper).
"""

from __future__ import annotations

from typing import Any

import redis
from kombu.transport import redis as kombu_redis


class ReconnectingChannel(kombu_redis.Channel):  # type: ignore[misc]
    def _connparams(self, asynchronous: bool = False) -> Any:
        if self.connection.client is None:
            raise redis.exceptions.ConnectionError("the broker connection is closed")
        return super()._connparams(asynchronous)


def install() -> None:
    """Make every kombu Redis transport (redis://, rediss://, redis+socket://) use the channel above."""
    kombu_redis.Transport.Channel = ReconnectingChannel
