"""Offboarding: sessions, tokens, grants and owned agents go; the record proves when and what."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from directory.access import issue_app_token, start_app_session
from directory.errors import AccessDenied
from directory.models import AppApiToken, AppSession, DirectoryUser, OffboardingRecord
from observability.metrics import DEPROVISION_LATENCY, PREFIX, redis_client
from outbox.event_types import EventType
from outbox.models import Event
from tenants.context import tenant_schema
from tests.provisioning.support import (
    change_members,
    drain,
    make_group,
    make_user,
    map_group,
    remove_user,
    set_active,
)

pytestmark = pytest.mark.django_db


def _latency_count() -> float:
    raw: dict[bytes, bytes] = redis_client().hgetall(PREFIX + DEPROVISION_LATENCY.name)  # type: ignore[assignment]
    return sum((float(v) for k, v in raw.items() if not k.decode().endswith("|_sum")), 0.0)


def test_deactivation_revokes_sessions_tokens_and_grant_and_records_the_proof(
    acme, bravo, broker, django_capture_on_commit_callbacks
):
    with tenant_schema(acme):
        ada = make_user("ada@acme.test")
        admins = make_group("Admins", members=[ada.id])
        map_group(admins, "admin")
        drain(acme)
        for _ in range(2):
            start_app_session(user_id=ada.id)
        issue_app_token(user_id=ada.id, name="ci")
    with tenant_schema(bravo):
        other = make_user("ada@bravo.test")
        start_app_session(user_id=other.id)
    metric_before = _latency_count()
    requested_at = timezone.now() - timedelta(seconds=2)

    with tenant_schema(acme):
        set_active(ada.id, False, requested_at=requested_at)
    with django_capture_on_commit_callbacks(execute=True):
        drain(acme)

    with tenant_schema(acme):
        assert not AppSession.objects.filter(user_id=ada.id, revoked_at__isnull=True).exists()
        assert AppApiToken.objects.get(user_id=ada.id).revoked_reason == "user.deactivated"
        record = OffboardingRecord.objects.get(user_id=ada.id)
        assert (record.sessions_revoked, record.tokens_revoked, record.grants_removed) == (2, 1, 1)
        assert record.requested_at == requested_at
        assert 2.0 <= record.latency_seconds < 30
        assert record.completed_at >= requested_at
        revoked = Event.objects.get(type=EventType.USER_ACCESS_REVOKED)
        assert revoked.payload["cause"] == "user.deactivated" and revoked.payload["sessions_revoked"] == 2
        with pytest.raises(AccessDenied):
            start_app_session(user_id=ada.id)
    with tenant_schema(bravo):  # the other tenant's user with the same name keeps access
        assert AppSession.objects.filter(user_id=other.id, revoked_at__isnull=True).count() == 1
    assert _latency_count() == metric_before + 1  # one DEPROVISION_LATENCY observation, on commit


def test_deleted_user_is_offboarded_too(acme):
    with tenant_schema(acme):
        ada = make_user("ada@acme.test")
        start_app_session(user_id=ada.id)
        drain(acme)
        remove_user(ada.id)
        drain(acme)
        record = OffboardingRecord.objects.get(user_id=ada.id)
        assert record.event_type == "user.deleted" and record.sessions_revoked == 1


def test_offboarding_an_owner_tears_down_their_agents_through_the_directory(acme):
    with tenant_schema(acme):
        owner = make_user("owner@acme.test")
        agent = make_user("agent-1@acme.test")
        DirectoryUser.objects.filter(id=agent.id).update(kind=DirectoryUser.Kind.AGENT, owner_id=owner.id)
        start_app_session(user_id=agent.id)
        drain(acme)
        set_active(owner.id, False)
        drain(acme)
        agent.refresh_from_db()
        assert agent.active is False
        types = [e.type for e in Event.objects.filter(resource_id=str(agent.id)).order_by("seq")]
        assert types.index("user.deactivated") < types.index("agent.expired") < types.index("user.access_revoked")
        assert Event.objects.get(type=EventType.AGENT_EXPIRED).payload["reason"] == "owner_deactivated"
        assert OffboardingRecord.objects.get(user_id=owner.id).agents_torn_down == 1
        assert OffboardingRecord.objects.get(user_id=agent.id).sessions_revoked == 1


def test_offboarding_a_user_twice_is_harmless(acme):
    with tenant_schema(acme):
        ada = make_user("ada@acme.test")
        set_active(ada.id, False)
        set_active(ada.id, True)
        set_active(ada.id, False)
        drain(acme)
        assert OffboardingRecord.objects.filter(user_id=ada.id).count() == 2


def test_role_is_granted_then_revoked_on_deactivation(acme):
    with tenant_schema(acme):
        ada = make_user("ada@acme.test")
        group = make_group("Editors")
        map_group(group, "editor")
        change_members(group.id, "add", ada.id)
        drain(acme)
        set_active(ada.id, False)
        drain(acme)
        roles = [
            (e.payload["previous_role"], e.payload["role"])
            for e in Event.objects.filter(type=EventType.ROLE_CHANGED).order_by("seq")
        ]
        assert roles == [(None, "editor"), ("editor", None)]
