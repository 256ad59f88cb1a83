"""Support access: time-boxed, reasoned, audited, and shown to the tenant's own admins."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tenants.models import AuditEvent, SupportSession
from tenants.support_access import (
    SupportAccessError,
    active_support_session,
    end_support_session,
    start_support_session,
    support_access_log,
)
from tests.support.actors import OPERATOR, SUPPORT, TEST_ACTOR

pytestmark = pytest.mark.django_db


def test_a_session_lasts_thirty_minutes_by_default_and_is_audited(tenant_a):
    session = start_support_session(tenant=tenant_a, actor=SUPPORT, reason="ticket 4411: Jane still has access")
    assert session.expires_at - session.started_at == timedelta(minutes=30)
    assert active_support_session(tenant=tenant_a, operator_id=SUPPORT.id) == session
    row = AuditEvent.objects.get(type="support_session.started")
    assert (row.tenant_id, row.actor_id, row.actor_role, row.reason) == (
        tenant_a.pk, SUPPORT.id, "support", "ticket 4411: Jane still has access",
    )
    assert row.target_id == str(session.pk)


def test_the_session_is_for_that_operator_and_tenant_only(tenant_a, tenant_b):
    start_support_session(tenant=tenant_a, actor=SUPPORT, reason="ticket 1")
    assert active_support_session(tenant=tenant_b, operator_id=SUPPORT.id) is None
    assert active_support_session(tenant=tenant_a, operator_id=OPERATOR.id) is None


def test_an_expired_session_grants_nothing(tenant_a):
    session = start_support_session(tenant=tenant_a, actor=SUPPORT, reason="ticket 2", minutes=5)
    later = timezone.now() + timedelta(minutes=6)
    assert active_support_session(tenant=tenant_a, operator_id=SUPPORT.id, now=later) is None
    assert support_access_log(tenant=tenant_a)[0].until == session.expires_at


def test_ending_a_session_closes_it_once_and_audits_it(tenant_a):
    session = start_support_session(tenant=tenant_a, actor=SUPPORT, reason="ticket 3")
    end_support_session(session=session, actor=SUPPORT)
    end_support_session(session=session, actor=SUPPORT)  # already ended: nothing more happens
    assert active_support_session(tenant=tenant_a, operator_id=SUPPORT.id) is None
    assert AuditEvent.objects.filter(type="support_session.ended", tenant_id=tenant_a.pk).count() == 1
    session.refresh_from_db()
    assert session.ended_by == SUPPORT.label and session.until == session.ended_at


def test_the_tenants_admins_read_who_viewed_their_portal_when_and_why(tenant_a, tenant_b):
    session = start_support_session(tenant=tenant_a, actor=SUPPORT, reason="ticket 4411")
    end_support_session(session=session, actor=SUPPORT)
    start_support_session(tenant=tenant_b, actor=SUPPORT, reason="not yours")

    (entry,) = support_access_log(tenant=tenant_a)

    session.refresh_from_db()
    assert entry.customer_text == (
        f"Rollcall support viewed your portal from {session.started_at:%Y-%m-%d %H:%M} to "
        f"{session.ended_at:%Y-%m-%d %H:%M} UTC, reason: ticket 4411"
    )
    assert not entry.active


@pytest.mark.parametrize(
    ("actor", "reason", "minutes", "message"),
    [
        (SUPPORT, "  ", None, "reason"),
        (SUPPORT, "why", 0, "1 to 240 minutes"),
        (SUPPORT, "why", 241, "1 to 240 minutes"),
        (TEST_ACTOR, "why", None, "only Rollcall operators"),
    ],
)
def test_bad_requests_are_refused_and_change_nothing(tenant_a, actor, reason, minutes, message):
    with pytest.raises(SupportAccessError, match=message):
        start_support_session(tenant=tenant_a, actor=actor, reason=reason, minutes=minutes)
    assert not SupportSession.objects.exists()
    assert not AuditEvent.objects.filter(type="support_session.started").exists()


def test_one_open_session_per_operator_and_tenant(tenant_a):
    start_support_session(tenant=tenant_a, actor=SUPPORT, reason="ticket 5")
    with pytest.raises(SupportAccessError, match="already have a support session"):
        start_support_session(tenant=tenant_a, actor=SUPPORT, reason="ticket 6")
    assert SupportSession.objects.count() == 1
