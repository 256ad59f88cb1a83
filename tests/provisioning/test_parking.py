"""Poison events: set aside so the tenant's pipeline goes on, later events of the same user held behind
them in order, the admins alerted, and an operator retries or skips them with a reason."""

from __future__ import annotations

from typing import Any

import pytest

from outbox.append import Actor
from outbox.event_types import EventType
from outbox.models import Event
from outbox.selectors import parked_event_count, pending_event_count
from provisioning import drain as pipeline
from provisioning.handlers import HandlerContext, PermanentHandlerError, register, unregister
from provisioning.models import HandlerRun, Notification
from provisioning.parking import ParkingError, parked_events, retry_parked_event, skip_parked_event
from tenants.context import tenant_schema
from tests.provisioning.support import drain, make_user, patch_user_ops

pytestmark = pytest.mark.django_db
OPERATOR = Actor(kind="operator", id="op-1")
POISON = "poison@acme.test"


@pytest.fixture
def poison_handler():
    """A handler that can never handle events about the poison user (until the test cures it)."""
    state: dict[str, Any] = {"cured": False, "seen": []}

    @register("test_poison", [EventType.USER_CREATED, EventType.USER_UPDATED], order=0)
    def handle(ctx: HandlerContext) -> None:
        if ctx.payload["user"]["user_name"] == POISON and not state["cured"]:
            raise PermanentHandlerError("this user's data can never be sent")
        state["seen"].append((ctx.payload["user"]["user_name"], ctx.seq))

    yield state
    unregister("test_poison")


def _events_of(user_name: str) -> list[Event]:
    return [e for e in Event.objects.order_by("seq") if (e.payload.get("user") or {}).get("user_name") == user_name]


def test_a_permanent_failure_parks_the_event_and_the_rest_of_the_tenant_goes_on(acme, poison_handler):
    with tenant_schema(acme):
        poison = make_user(POISON)
        patch_user_ops(poison.id, {"op": "replace", "path": "title", "value": "later change"})
        fine = make_user("fine@acme.test")
    drain(acme)
    with tenant_schema(acme):
        created, updated = [e for e in _events_of(POISON) if e.type in {"user.created", "user.updated"}]
        assert created.parked_at is not None and "can never be sent" in created.park_reason
        assert updated.parked_at is not None and updated.held_behind == created.seq  # same user: held, in order
        assert ("fine@acme.test", _events_of("fine@acme.test")[0].seq) in poison_handler["seen"]
        assert Event.objects.get(seq=_events_of("fine@acme.test")[0].seq).handled_at is not None
        assert pending_event_count() == 0 and parked_event_count() == 2
        assert Notification.objects.get(dedupe_key=f"pipeline_parked:{created.seq}").severity == "critical"
        listed = parked_events()
        assert [(p.seq, p.held_count) for p in listed if p.held_behind is None] == [(created.seq, 1)]
        assert fine.active


def test_an_event_that_keeps_failing_is_parked_after_its_attempts(acme, settings):
    settings.ROLLCALL_HANDLER_PARK_AFTER = 2
    settings.ROLLCALL_HANDLER_RETRY_BASE = 0

    @register("test_flaky", [EventType.USER_CREATED], order=0)
    def flaky(ctx: HandlerContext) -> None:
        raise ConnectionError("downstream down")

    try:
        with tenant_schema(acme):
            make_user("flaky@acme.test")
        first = pipeline.dispatch_tenant(acme.schema_name)
        assert first.failed_seq is not None and not first.parked  # transient: the queue waits, in order
        second = pipeline.dispatch_tenant(acme.schema_name)
        assert second.parked == [first.failed_seq]
        with tenant_schema(acme):
            assert Event.objects.get(seq=first.failed_seq).attempts == 2
    finally:
        unregister("test_flaky")


def test_retrying_a_parked_event_releases_what_waited_behind_it_in_order(acme, poison_handler):
    with tenant_schema(acme):
        poison = make_user(POISON)
        patch_user_ops(poison.id, {"op": "replace", "path": "title", "value": "later change"})
    drain(acme)
    poison_handler["cured"] = True
    with tenant_schema(acme):
        root = next(p for p in parked_events() if p.held_behind is None)
        with pytest.raises(ParkingError):
            retry_parked_event(seq=root.seq, actor=OPERATOR, reason="  ")  # a reason is required
        assert retry_parked_event(seq=root.seq, actor=OPERATOR, reason="fixed the data upstream") == 1
        assert Event.objects.get(seq=root.seq).resolved_by == "operator:op-1"
    drain(acme)
    with tenant_schema(acme):
        assert parked_event_count() == 0
        seen = [seq for name, seq in poison_handler["seen"] if name == POISON]
        assert seen == sorted(seen) and len(seen) == 2
        assert all(e.handled_at is not None for e in _events_of(POISON))


def test_skipping_a_parked_event_marks_it_handled_without_running_it(acme, poison_handler):
    with tenant_schema(acme):
        make_user(POISON)
    drain(acme)
    with tenant_schema(acme):
        root = parked_events()[0]
        skip_parked_event(seq=root.seq, actor=OPERATOR, reason="test user, not needed")
        skipped = Event.objects.get(seq=root.seq)
        assert skipped.skipped_at is not None and skipped.handled_at is not None
        assert skipped.resolution_note == "test user, not needed"
        assert not HandlerRun.objects.filter(seq=root.seq, handler="test_poison").exists()
        with pytest.raises(ParkingError):
            skip_parked_event(seq=root.seq, actor=OPERATOR, reason="twice")
