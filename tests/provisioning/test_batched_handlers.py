"""Handlers run once per transaction over all its events: the work per event is set-based, and
every effect still names the event that caused it."""

from __future__ import annotations

import pytest

from outbox.event_types import EventType
from outbox.models import Event
from provisioning.drain import dispatch_tenant
from provisioning.handlers import HandlerContext, register_batch, unregister
from provisioning.models import HandlerRun, OutboundEmail
from tenants.context import TenantRef, tenant_schema
from tenants.models import Tenant
from tests.provisioning.support import change_members, count_queries, drain, make_group, make_user, map_group

pytestmark = pytest.mark.django_db


@pytest.fixture
def one_transaction(settings) -> None:  # type: ignore[no-untyped-def]
    """Every pending event of these tests is handled in one dispatch transaction."""
    settings.ROLLCALL_DISPATCH_BATCH = 100
    settings.ROLLCALL_DISPATCH_TX_EVENTS = 100


def _drain_queries(tenant: TenantRef, users: int, prefix: str) -> int:
    with tenant_schema(tenant):
        for i in range(users):
            make_user(f"{prefix}{i}@acme.test")
    with count_queries() as queries:
        result = dispatch_tenant(tenant.schema_name)
    assert result.handled == users and result.drained
    return queries.count


def test_handling_forty_new_users_takes_as_many_queries_as_handling_five(acme, one_transaction):
    Tenant.objects.filter(id=acme.id).update(settings={"default_role": "viewer"})
    acme = TenantRef.of(Tenant.objects.get(id=acme.id))
    few = _drain_queries(acme, 5, "few")
    drain(acme)  # the role.changed events the first drain appended
    many = _drain_queries(acme, 40, "many")
    assert many == few
    with tenant_schema(acme):
        assert OutboundEmail.objects.filter(kind="welcome").count() == 45  # one welcome mail each


def test_each_effect_of_a_batch_names_the_event_that_caused_it(acme, one_transaction):
    Tenant.objects.filter(id=acme.id).update(settings={"default_role": "viewer"})
    acme = TenantRef.of(Tenant.objects.get(id=acme.id))
    with tenant_schema(acme):
        users = [make_user(f"cause{i}@acme.test") for i in range(3)]
        admins = make_group("Admins")
        map_group(admins, "admin")
        change_members(admins.id, "add", users[1].id)
    drain(acme)
    with tenant_schema(acme):
        created = {e.resource_id: e.seq for e in Event.objects.filter(type="user.created")}
        added = Event.objects.get(type="group.member_added").seq
        changed = {e.resource_id: e for e in Event.objects.filter(type="role.changed")}
        # One role change per user, each attributed to the latest event that affected that user.
        assert {uid: e.payload["role"] for uid, e in changed.items()} == {
            str(users[0].id): "viewer",
            str(users[1].id): "admin",
            str(users[2].id): "viewer",
        }
        assert changed[str(users[0].id)].payload["cause_seq"] == created[str(users[0].id)]
        assert changed[str(users[1].id)].payload["cause_seq"] == added
        assert changed[str(users[0].id)].request_id == f"seq:{created[str(users[0].id)]}"
        mails = {m.recipients[0]: m.seq for m in OutboundEmail.objects.filter(kind="welcome")}
        assert mails == {u.email: created[str(u.id)] for u in users}
        assert HandlerRun.objects.filter(handler="welcome_email").count() == 3


def test_a_batch_handler_failing_on_one_event_is_pinned_on_that_event(acme, one_transaction):
    seen: list[list[int]] = []

    @register_batch("test_picky", [EventType.USER_CREATED], order=1)
    def picky(contexts: list[HandlerContext]) -> None:
        seen.append([c.seq for c in contexts])
        if any((c.payload.get("user") or {}).get("user_name") == "bad@acme.test" for c in contexts):
            raise ValueError("cannot handle bad@acme.test")

    try:
        with tenant_schema(acme):
            make_user("good@acme.test")
            make_user("bad@acme.test")
            make_user("later@acme.test")
        result = dispatch_tenant(acme.schema_name)
    finally:
        unregister("test_picky")
    with tenant_schema(acme):
        names = ("good@acme.test", "bad@acme.test", "later@acme.test")
        good, bad, later = (Event.objects.get(type="user.created", payload__user__user_name=n) for n in names)
        assert seen[0] == [good.seq, bad.seq, later.seq]  # the whole transaction at once
        assert seen[1:] == [[good.seq], [bad.seq]]  # then one event at a time
        assert good.handled_at is not None and bad.handled_at is None and later.handled_at is None
        assert "cannot handle bad@acme.test" in bad.last_error and result.failed_seq == bad.seq
