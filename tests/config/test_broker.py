"""A Redis restart must not kill the worker: the broker channel reports a detached transport as a
lost connection (which kombu's clean-up ignores), not AttributeError (which killed the worker)."""

from __future__ import annotations

import pytest
from kombu import Connection

from config.celery import app
from tests.provisioning.infra import RedisServer


def test_the_app_installs_the_reconnecting_channel():
    with app.connection_for_write("redis://127.0.0.1:1/0") as conn:
        from config.broker import ReconnectingChannel

        assert conn.transport.Channel is ReconnectingChannel


def test_a_channel_whose_connection_was_collected_raises_a_connection_error(private_redis: RedisServer):
    """The frame of issue 17's traceback: after Connection.collect() the transport's client is None,
    and closing a channel with unacked messages builds new Redis client parameters from it."""
    if private_redis.proc is None:
        private_redis.start()
    conn = Connection(private_redis.url)
    try:
        channel = conn.channel()
        channel._disconnect_pools()  # what a failed read does
        channel.connection.client = None  # what Connection.collect() does
        with pytest.raises(conn.connection_errors):
            channel._connparams()
    finally:
        conn.release()


def test_the_worker_runs_without_gossip_mingle_or_event_heartbeats():
    from config.processes import worker_command

    argv = worker_command()
    assert {"--without-gossip", "--without-mingle", "--without-heartbeat"} <= set(argv)
    assert argv[argv.index("--pool") + 1] == "prefork"
