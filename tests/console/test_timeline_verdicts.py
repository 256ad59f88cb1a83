"""The user timeline and its six verdicts, each seeded through the real SCIM endpoint and the real drain."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from console.intent import Intent
from console.timeline import EntryKind, PersonNotFound, find_people, user_timeline
from console.verdict import VerdictCode
from provisioning.models import WebhookDelivery
from provisioning.webhooks import delivery as sending
from provisioning.webhooks import endpoints
from tenants.context import TenantRef, tenant_schema
from tenants.models import ScimConnection
from tests.provisioning.support import drain, webhook_receiver
from tests.support.queries import count_queries
from tests.support.scim_client import PATCH_OP, ScimClient

pytestmark = pytest.mark.django_db


def patch(scim: ScimClient, user_id: str, *operations: dict) -> int:
    return scim.patch(f"/Users/{user_id}", {"schemas": [PATCH_OP], "Operations": list(operations)}).status


def jane(scim: ScimClient, **attrs) -> str:
    response = scim.create_user(
        "jane@acme.test", externalId="00u-jane", emails=[{"value": "jane.doe@acme.test", "type": "work"}], **attrs
    )
    assert response.status == 201, response.body
    return str(response.body["id"])


def deactivate(scim: ScimClient, user_id: str) -> None:
    assert patch(scim, user_id, {"op": "replace", "path": "active", "value": False}) == 200


def test_a_the_idp_never_sent_a_deactivation_with_the_last_request_and_okta_hints(tenant_a):
    okta = ScimClient.for_tenant(tenant_a, idp="okta")
    user_id = jane(okta)
    assert patch(okta, user_id, {"op": "replace", "path": "title", "value": "Engineer"}) == 200
    group = okta.create_group("Engineering", members=[user_id]).body["id"]
    okta.patch(f"/Groups/{group}", {"schemas": [PATCH_OP], "Operations": [{"op": "remove", "path": f'members[value eq "{user_id}"]'}]})
    drain(TenantRef.of(tenant_a))

    timeline = user_timeline(TenantRef.of(tenant_a), "jane@acme.test")

    verdict = timeline.verdict
    assert verdict.code is VerdictCode.NEVER_SENT and verdict.code.letter == "a"
    last_request = timeline.requests[-1]
    assert verdict.at == last_request.at and f"{last_request.at:%Y-%m-%d %H:%M}" in verdict.explanation
    assert any("removed this person from a group" in h for h in verdict.hints)
    assert any("Staged" in h for h in verdict.hints)  # Okta's profile hint
    # The group PATCH that named her id is part of her timeline.
    assert any(r.intent is Intent.GROUP_REMOVE for r in timeline.requests)


def test_a_for_entra_says_when_its_next_cycle_is_due(tenant_a):
    entra = ScimClient.for_tenant(tenant_a, idp="entra")
    jane(entra)
    ScimConnection.objects.filter(pk=entra.connection_id).update(last_request_at=timezone.now() - timedelta(minutes=10))

    verdict = user_timeline(TenantRef.of(tenant_a), "jane@acme.test").verdict

    assert verdict.code is VerdictCode.NEVER_SENT
    assert any("about 40 minutes" in h for h in verdict.hints)
    assert any("10 minutes ago" in h and "next cycle" in h for h in verdict.hints)


def test_b_a_deactivation_rejected_by_rollcall_shows_the_error_and_its_fix(scim, tenant_a):
    user_id = jane(scim)
    assert patch(scim, user_id, {"op": "replace", "path": "active", "value": "off"}) == 400
    drain(TenantRef.of(tenant_a))

    verdict = user_timeline(TenantRef.of(tenant_a), user_id).verdict

    assert verdict.code is VerdictCode.REJECTED and verdict.code.letter == "b"
    assert "400" in verdict.explanation and "invalidValue" in verdict.explanation
    assert "active must be a boolean" in verdict.explanation
    assert "true or false" in verdict.fix
    assert verdict.request_id


def test_c_an_accepted_deactivation_that_changed_nothing(scim, tenant_a):
    user_id = jane(scim)
    assert patch(scim, user_id, {"op": "remove", "path": "active"}) == 200  # SCIM: unset active = active
    drain(TenantRef.of(tenant_a))

    timeline = user_timeline(TenantRef.of(tenant_a), "00u-jane")

    assert timeline.person.active is True
    assert timeline.verdict.code is VerdictCode.NO_CHANGE and timeline.verdict.code.letter == "c"
    assert "removed the active attribute" in timeline.verdict.explanation


def test_d_applied_but_the_webhook_is_failing_names_endpoint_status_and_next_retry(scim, tenant_a):
    acme = TenantRef.of(tenant_a)
    with webhook_receiver() as receiver:
        with tenant_schema(acme):
            endpoints.create_endpoint(url=receiver.on("/hooks", then=500))
        user_id = jane(scim)
        deactivate(scim, user_id)
        drain(acme)
        with tenant_schema(acme):
            sending.deliver(acme)

    timeline = user_timeline(acme, "jane.doe@acme.test")

    verdict = timeline.verdict
    assert verdict.code is VerdictCode.UNDELIVERED and verdict.code.letter == "d"
    assert f"(user.deactivated): the webhook to {receiver.base_url}/hooks is retrying" in verdict.explanation
    assert "last attempt 500" in verdict.explanation and "next retry" in verdict.explanation
    deliveries = timeline.deliveries
    assert deliveries and all(d.attempt_log and d.attempt_log[0].status_code == 500 for d in deliveries)
    assert any(d.status == WebhookDelivery.Status.RETRYING and d.next_attempt_at for d in deliveries)


def delivered_deactivation(scim: ScimClient, acme: TenantRef) -> tuple[str, str]:
    """Jane created and deactivated, every event handled and delivered to a webhook receiver; her id and
    the receiver's URL."""
    with webhook_receiver() as receiver:
        hook_url = receiver.on("/hooks")
        with tenant_schema(acme):
            endpoints.create_endpoint(url=hook_url)
        user_id = jane(scim)
        deactivate(scim, user_id)
        drain(acme)
        with tenant_schema(acme):
            assert sending.deliver(acme).failed == 0
    return user_id, hook_url


def test_e_applied_and_delivered_with_the_offboarding_record(scim, tenant_a):
    acme = TenantRef.of(tenant_a)
    user_id, hook_url = delivered_deactivation(scim, acme)

    timeline = user_timeline(acme, user_id)

    verdict = timeline.verdict
    assert verdict.code is VerdictCode.DELIVERED and verdict.code.letter == "e"
    assert "offboarding finished" in verdict.explanation and hook_url in verdict.explanation
    kinds = [e.kind for e in timeline.entries]
    assert EntryKind.OFFBOARDING in kinds and EntryKind.HANDLER_RUN in kinds
    deactivated = next(e for e in timeline.events if e.type == "user.deactivated")
    assert deactivated.before is not None and deactivated.after is not None
    assert deactivated.before["active"] is True and deactivated.after["active"] is False
    request = next(r for r in timeline.requests if r.intent is Intent.DEACTIVATE)
    assert deactivated.seq in request.event_seqs
    assert [e.at for e in timeline.entries] == sorted(e.at for e in timeline.entries)


def test_f_reprovisioned_afterwards_by_whom_and_when(scim, tenant_a):
    acme = TenantRef.of(tenant_a)
    user_id = jane(scim)
    deactivate(scim, user_id)
    drain(acme)
    assert patch(scim, user_id, {"op": "replace", "path": "active", "value": True}) == 200
    drain(acme)

    verdict = user_timeline(acme, user_id).verdict

    assert verdict.code is VerdictCode.REPROVISIONED and verdict.code.letter == "f"
    assert "user.reactivated" in verdict.explanation
    assert "by the generic connection" in verdict.explanation and f"with PATCH /Users/{user_id}" in verdict.explanation
    assert verdict.at is not None and verdict.request_id


def test_a_deleted_user_is_found_in_the_event_history(scim, tenant_a):
    acme = TenantRef.of(tenant_a)
    user_id = jane(scim)
    assert scim.delete(f"/Users/{user_id}").status == 204
    drain(acme)

    timeline = user_timeline(acme, "jane@acme.test")

    assert timeline.person.id == user_id and timeline.person.exists is False
    assert timeline.verdict.code is VerdictCode.DELIVERED  # no endpoints: applied and offboarded
    assert any(r.intent is Intent.DELETE for r in timeline.requests)


def test_people_are_found_by_each_identifier_and_never_in_another_tenant(scim, scim_b, tenant_a, tenant_b):
    user_id = jane(scim)
    acme = TenantRef.of(tenant_a)
    with tenant_schema(acme):
        for query in (user_id, "JANE@acme.test", "00u-jane", "jane.doe@acme.test"):
            assert [p.id for p in find_people(query)] == [user_id], query
        assert find_people("nobody@acme.test") == []
    with pytest.raises(PersonNotFound):
        user_timeline(TenantRef.of(tenant_b), "jane@acme.test")


def test_an_id_named_only_in_a_group_patch_is_found(scim, tenant_a):
    group = scim.create_group("Sales").body["id"]
    ghost = "5b0c6f3e-0000-4000-8000-00000000beef"
    scim.patch(f"/Groups/{group}", {"schemas": [PATCH_OP], "Operations": [{"op": "add", "path": "members", "value": [{"value": ghost}]}]})

    timeline = user_timeline(TenantRef.of(tenant_a), ghost)

    assert timeline.person.matched_on == "group request"
    assert timeline.verdict.code is VerdictCode.UNEXPLAINED and timeline.verdict.title == "Not a user Rollcall knows"
    assert [r.intent for r in timeline.requests] == [Intent.GROUP_ADD]


def test_the_timeline_reads_a_bounded_number_of_queries(scim, tenant_a):
    acme = TenantRef.of(tenant_a)
    user_id = jane(scim)
    for title in ("A", "B", "C", "D"):
        patch(scim, user_id, {"op": "replace", "path": "title", "value": title})
    deactivate(scim, user_id)
    drain(acme)
    with count_queries(at_most=16, include_search_path=False):
        user_timeline(acme, user_id)
