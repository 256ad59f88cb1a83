"""Rate-limit leases: a process counts most requests in memory, and the shared Redis count stays the
limit across processes (a window refuses at most one unused lease per process early)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager

import pytest

from observability.metrics import redis_client
from scim_api import throttle


@pytest.fixture(autouse=True)
def _limits(settings) -> None:  # type: ignore[no-untyped-def]
    settings.ROLLCALL_SCIM_RATE_WINDOW = 3600  # no test straddles a window
    settings.ROLLCALL_SCIM_RATE_PER_CONNECTION = 1000
    settings.ROLLCALL_SCIM_RATE_PER_IP = 100_000


@contextmanager
def another_process() -> Iterator[None]:
    """Run the block with leases of its own, as a second web process has."""
    saved = throttle._leases
    throttle._leases = {}
    try:
        yield
    finally:
        throttle._leases = saved


def _admitted(connection_id: str, times: int) -> int:
    source_ip = "10.1.2.3"
    return sum(throttle.check_request(connection_id=connection_id, source_ip=source_ip) is None for _ in range(times))


def _shared_count(connection_id: str) -> int:
    keys = redis_client().keys(f"{throttle.PREFIX}connection:{connection_id}:*")
    return sum(int(redis_client().get(k) or 0) for k in keys)


def test_requests_are_leased_in_blocks_and_the_limit_is_exact_in_one_process() -> None:
    conn = uuid.uuid4().hex[:24]
    assert throttle.lease_size(throttle.connection_limit()) == 20
    assert _admitted(conn, 101) == 101
    assert _shared_count(conn) == 120  # six leases of 20, not 101 round trips
    assert _admitted(conn, 1000) == 899  # 1000 in all
    assert throttle.check_request(connection_id=conn, source_ip="10.1.2.3") is not None


def test_processes_share_the_limit_and_refuse_early_by_at_most_one_lease_each() -> None:
    conn = uuid.uuid4().hex[:24]
    assert _admitted(conn, 1) == 1  # this process holds 19 unused requests of its lease
    with another_process():
        second = _admitted(conn, 2000)
    assert second == 980  # what the first process had not leased
    assert _admitted(conn, 100) == 19  # the first process still spends its own lease, then refuses


def test_small_limits_are_counted_one_request_at_a_time(settings) -> None:  # type: ignore[no-untyped-def]
    settings.ROLLCALL_SCIM_RATE_PER_CONNECTION = 5
    conn = uuid.uuid4().hex[:24]
    assert throttle.lease_size(throttle.connection_limit()) == 1
    with another_process():
        assert _admitted(conn, 3) == 3
    assert _admitted(conn, 5) == 2
    assert _shared_count(conn) == 6  # the refused one is counted too


def test_failed_authentications_are_counted_exactly_and_read_back_locally(settings) -> None:  # type: ignore[no-untyped-def]
    settings.ROLLCALL_SCIM_FAILED_AUTH_PER_IP = 3
    settings.ROLLCALL_SCIM_FAILED_AUTH_WINDOW = 3600
    address = f"10.9.{uuid.uuid4().int % 250}.{uuid.uuid4().int % 250 + 1}"
    for _ in range(4):
        throttle.note_failed_authentication(source_ip=address)
    refusal = throttle.check_request(connection_id="c" * 24, source_ip=address)
    assert refusal is not None and refusal.limit.name == "failed_auth"
