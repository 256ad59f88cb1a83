"""Waking workers: coalesced per tenant, never blocking or failing the caller when Redis is down."""

from __future__ import annotations

import base64
import json
import time

from outbox import queues, relay
from provisioning import wakeups
from tests.provisioning.infra import free_port


def _queued(broker, queue: str) -> list[dict]:
    return [json.loads(m) for m in broker.client().lrange(queue, 0, -1)]


def _args(message: dict) -> list:
    assert message["content-type"] == "application/json"  # JSON, never pickle
    return json.loads(base64.b64decode(message["body"]))[0]


def test_a_burst_of_commits_enqueues_one_task_per_tenant(broker):
    for _ in range(100):
        relay.request_dispatch("t_alpha")
    relay.request_dispatch("t_bravo")
    messages = _queued(broker, queues.EVENTS_QUEUE)
    assert len(messages) == 2
    assert [m["headers"]["task"] for m in messages] == [queues.DISPATCH_TASK] * 2
    assert sorted(_args(m) for m in messages) == [["t_alpha"], ["t_bravo"]]


def test_a_request_after_the_worker_cleared_the_key_enqueues_again(broker):
    relay.request_dispatch("t_alpha")
    relay.clear_dispatch_request("t_alpha")  # what the worker does once it holds the tenant lock
    relay.request_dispatch("t_alpha")
    assert len(_queued(broker, queues.EVENTS_QUEUE)) == 2


def test_the_request_key_expires_so_a_lost_task_cannot_block_a_tenant_forever(broker):
    relay.request_dispatch("t_alpha")
    ttl = broker.client().ttl(relay.PENDING_KEY + "t_alpha")
    assert 0 < ttl <= 60


def test_redis_down_costs_a_request_nothing_and_raises_nothing(settings):
    settings.REDIS_URL = settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"
    relay._down_until = 0.0
    try:
        started = time.monotonic()
        for _ in range(20):
            relay.request_dispatch("t_alpha")
        assert wakeups.request_outbound("t_alpha") is False
        assert time.monotonic() - started < 1.0
    finally:
        relay._down_until = 0.0


def test_publish_failure_clears_the_request_key_so_the_next_commit_retries(broker, settings):
    settings.CELERY_BROKER_URL = f"redis://127.0.0.1:{free_port()}/0"  # broker down, key store up
    relay.request_dispatch("t_alpha")
    assert not broker.client().exists(relay.PENDING_KEY + "t_alpha")


def test_an_unreachable_broker_costs_at_most_one_short_timeout(settings):
    settings.REDIS_URL = settings.CELERY_BROKER_URL = "redis://10.255.255.1:6379/0"  # blackholed
    relay._down_until = 0.0
    try:
        started = time.monotonic()
        relay.request_dispatch("t_alpha")
        first = time.monotonic() - started
        for _ in range(50):
            relay.request_dispatch("t_alpha")
        assert first < 1.5 and time.monotonic() - started < 1.6
    finally:
        relay._down_until = 0.0


def test_webhook_and_email_wake_ups_are_coalesced_per_tenant_too(broker):
    for _ in range(50):
        wakeups.request_outbound("t_alpha")
    tasks = [m["headers"]["task"] for m in _queued(broker, queues.OUTBOUND_QUEUE)]
    assert tasks == [queues.SEND_OUTBOUND_TASK]
    wakeups.clear_request(wakeups.OUTBOUND_KEY, "t_alpha")  # what a sender does before claiming
    wakeups.request_outbound("t_alpha")
    assert len(_queued(broker, queues.OUTBOUND_QUEUE)) == 2


def test_retry_wake_ups_do_not_multiply(broker):
    """Every sender run that sees pending retries asks for a wake-up; only one stays scheduled,
    unless a new one is due clearly earlier."""
    for _ in range(10):
        wakeups.schedule_outbound("t_alpha", countdown=30)
    wakeups.schedule_outbound("t_alpha", countdown=2)  # much earlier: scheduled as well
    messages = _queued(broker, queues.OUTBOUND_QUEUE)
    assert len(messages) == 2
    assert all(_args(m) == ["t_alpha", None, True] for m in messages)
