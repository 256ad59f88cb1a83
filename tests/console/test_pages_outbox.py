"""Console: a tenant's outbox page (backlog, parked events) and retrying or skipping a parked event
(admin operators only, a reason required, audited). Events come from real SCIM requests and a real
drain whose handler refuses one user's events."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from outbox.event_types import EventType
from outbox.models import Event
from provisioning.handlers import HandlerContext, PermanentHandlerError, register, unregister
from provisioning.parking import parked_events
from tenants.audit import AuditEventType, AuditWindow, audit_events
from tenants.context import TenantRef, tenant_schema
from tests.provisioning.support import drain
from tests.support.scim_client import PATCH_OP, ScimClient

pytestmark = pytest.mark.django_db
POISON = "poison@acme.test"


@pytest.fixture
def refusing_handler() -> Iterator[None]:
    @register("test_console_outbox_poison", [EventType.USER_CREATED, EventType.USER_UPDATED], order=0)
    def refuse(ctx: HandlerContext) -> None:
        if ctx.payload["user"]["user_name"] == POISON:
            raise PermanentHandlerError("this user's data can never be sent")

    yield
    unregister("test_console_outbox_poison")


@pytest.fixture
def parked(tenant_a, scim: ScimClient, refusing_handler) -> int:  # type: ignore[no-untyped-def]
    """The poison user's creation parked, their later update held behind it; the seq of the parked one."""
    user_id = scim.create_user(POISON).body["id"]
    scim.patch(f"/Users/{user_id}", {"schemas": [PATCH_OP], "Operations": [{"op": "replace", "path": "title", "value": "x"}]})
    drain(TenantRef.of(tenant_a))
    with tenant_schema(tenant_a):
        roots = [p for p in parked_events() if p.held_behind is None]
    assert len(roots) == 1
    return roots[0].seq


def outbox(tenant) -> str:  # type: ignore[no-untyped-def]
    return f"/console/tenants/{tenant.slug}/outbox"


def audit_rows(tenant) -> list:  # type: ignore[no-untyped-def]
    types = (AuditEventType.EVENT_RETRIED, AuditEventType.EVENT_SKIPPED)
    return audit_events(AuditWindow(tenant_id=str(tenant.id)), types=types)


def test_the_outbox_renders_backlog_and_parked_events_for_support_without_buttons(tenant_a, scim, parked, support_operator):
    scim.create_user("waiting@acme.test")  # not drained: the backlog
    response = support_operator.client.get(outbox(tenant_a))
    assert response.status_code == 200
    html = response.content.decode()
    assert "Parked events" in html and f"#{parked}" in html
    assert "test_console_outbox_poison" in html and "can never be sent" in html  # the handler and its error
    assert "Held behind a parked event" in html and f"#{parked}</td>" in html
    assert 'stat__value">1<' in html  # one event waiting
    assert "since " in html  # the oldest waiting event's age
    assert "Retry</button>" not in html and "Skip</button>" not in html


def test_an_admin_sees_retry_and_skip(tenant_a, parked, admin_operator):
    html = admin_operator.client.get(outbox(tenant_a)).content.decode()
    assert "Retry</button>" in html and "Skip</button>" in html and f'for="reason-{parked}"' in html


def test_an_empty_outbox_says_so(tenant_a, admin_operator):
    html = admin_operator.client.get(outbox(tenant_a)).content.decode()
    assert "Nothing parked" in html and "nothing waiting" in html


def test_an_unknown_tenant_is_a_404(admin_operator, db):
    assert admin_operator.client.get("/console/tenants/nope/outbox").status_code == 404


def test_support_may_not_retry_or_skip(tenant_a, parked, support_operator):
    for action in ("retry", "skip"):
        response = support_operator.client.post(outbox(tenant_a), {"seq": parked, "action": action, "reason": "try"})
        assert response.status_code == 403
    with tenant_schema(tenant_a):
        assert Event.objects.get(seq=parked).parked_at is not None
    assert audit_rows(tenant_a) == []


def test_retrying_needs_a_reason_shown_next_to_the_field(tenant_a, parked, admin_operator):
    response = admin_operator.client.post(outbox(tenant_a), {"seq": parked, "action": "retry", "reason": "  "})
    assert response.status_code == 400
    html = response.content.decode()
    assert f'id="reason-{parked}-error"' in html and "Say why" in html
    with tenant_schema(tenant_a):
        assert Event.objects.get(seq=parked).parked_at is not None
    assert audit_rows(tenant_a) == []


def test_retrying_puts_the_event_back_and_is_audited(tenant_a, parked, admin_operator, refusing_handler):
    response = admin_operator.client.post(outbox(tenant_a), {"seq": parked, "action": "retry", "reason": "handler fixed"}, follow=True)
    assert response.status_code == 200
    assert f"Event #{parked} put back in the queue; 1 held event released with it." in response.content.decode()
    with tenant_schema(tenant_a):
        event = Event.objects.get(seq=parked)
        assert event.parked_at is None and event.attempts == 0 and event.resolution_note == "handler fixed"
    [row] = audit_rows(tenant_a)
    assert (row.type, row.target_id, row.reason, row.actor_kind) == ("event.retried", str(parked), "handler fixed", "operator")
    assert row.actor_label == admin_operator.operator.user.email


def test_skipping_marks_the_event_handled_and_is_audited(tenant_a, parked, admin_operator):
    response = admin_operator.client.post(outbox(tenant_a), {"seq": parked, "action": "skip", "reason": "test user"})
    assert response.status_code == 302 and response["Location"] == outbox(tenant_a)
    with tenant_schema(tenant_a):
        event = Event.objects.get(seq=parked)
        assert event.skipped_at is not None and event.handled_at is not None
    [row] = audit_rows(tenant_a)
    assert (row.type, row.target_id, row.reason) == ("event.skipped", str(parked), "test user")
    assert "Nothing parked" in admin_operator.client.get(outbox(tenant_a)).content.decode()  # the held update was released


def test_an_event_that_is_not_parked_is_refused_with_a_message(tenant_a, parked, admin_operator):
    response = admin_operator.client.post(outbox(tenant_a), {"seq": 999_999, "action": "skip", "reason": "gone"})
    assert response.status_code == 400 and "is not parked" in response.content.decode()
    bad = admin_operator.client.post(outbox(tenant_a), {"seq": "x", "action": "explode", "reason": "r"})
    assert bad.status_code == 400
    assert audit_rows(tenant_a) == []


def test_another_tenants_parked_events_stay_out(tenant_a, tenant_b, parked, admin_operator):
    html = admin_operator.client.get(outbox(tenant_b)).content.decode()
    assert "Nothing parked" in html and "can never be sent" not in html
    response = admin_operator.client.post(outbox(tenant_b), {"seq": parked, "action": "skip", "reason": "wrong tenant"})
    assert response.status_code == 400
    with tenant_schema(tenant_a):
        assert Event.objects.get(seq=parked).parked_at is not None
