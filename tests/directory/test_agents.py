"""Agent identities expire on schedule or with their owner, through the directory's own path."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from directory.agents import expire_agents
from directory.models import DirectoryUser, OffboardingRecord
from outbox.event_types import EventType
from outbox.models import Event
from tenants.context import tenant_schema
from tests.provisioning.support import drain, make_user, remove_user

pytestmark = pytest.mark.django_db


def make_agent(name: str, *, owner=None, expires_in: timedelta | None = None) -> DirectoryUser:
    # Agent attributes arrive through the SCIM agent extension (scim app); set them directly here.
    agent = make_user(name)
    DirectoryUser.objects.filter(id=agent.id).update(
        kind=DirectoryUser.Kind.AGENT,
        owner_id=owner.id if owner else None,
        expires_at=timezone.now() + expires_in if expires_in is not None else None,
    )
    agent.refresh_from_db()
    return agent


def test_expired_and_orphaned_agents_are_torn_down_with_events(acme, bravo):
    with tenant_schema(acme):
        owner = make_user("owner@acme.test")
        gone_owner = make_user("gone@acme.test")
        expired = make_agent("expired-bot", owner=owner, expires_in=timedelta(minutes=-1))
        fresh = make_agent("fresh-bot", owner=owner, expires_in=timedelta(days=1))
        orphan = make_agent("orphan-bot", owner=gone_owner)
        DirectoryUser.objects.filter(id=gone_owner.id).delete()  # owner removed without an event
        drain(acme)
    with tenant_schema(bravo):
        other = make_agent("bravo-bot", expires_in=timedelta(minutes=-1))

    with tenant_schema(acme):
        assert expire_agents() == 2
        assert expire_agents() == 0  # idempotent: already inactive
        states = dict(DirectoryUser.objects.filter(kind="agent").values_list("user_name", "active"))
        assert states == {"expired-bot": False, "fresh-bot": True, "orphan-bot": False}
        reasons = {
            e.resource_id: e.payload["reason"] for e in Event.objects.filter(type=EventType.AGENT_EXPIRED)
        }
        assert reasons == {str(expired.id): "expired", str(orphan.id): "owner_deleted"}
        deactivations = Event.objects.filter(type=EventType.USER_DEACTIVATED, resource_id__in=[str(expired.id), str(orphan.id)])
        assert deactivations.count() == 2 and all(e.actor == "system:agent-expiry" for e in deactivations)
        drain(acme)
        assert set(OffboardingRecord.objects.values_list("user_id", flat=True)) == {expired.id, orphan.id}
        assert fresh.active
    with tenant_schema(bravo):
        other.refresh_from_db()
        assert other.active  # each tenant's beat run only touches its own schema


def test_deleting_the_owner_tears_the_agent_down(acme):
    with tenant_schema(acme):
        owner = make_user("owner@acme.test")
        agent = make_agent("helper-bot", owner=owner)
        drain(acme)
        remove_user(owner.id)
        drain(acme)
        agent.refresh_from_db()
        assert not agent.active
        assert Event.objects.get(type=EventType.AGENT_EXPIRED).payload["reason"] == "owner_deleted"
