"""Console: the user timeline page, its verdict card, the person picker and the "nobody matches" state,
over histories seeded through the real SCIM endpoint, drain and webhook sender."""

from __future__ import annotations

import pytest

from provisioning.webhooks import delivery as sending
from provisioning.webhooks import endpoints
from scim_api.models import RequestLog
from tenants.context import TenantRef, tenant_schema
from tests.console.test_timeline_verdicts import deactivate, delivered_deactivation, jane, patch
from tests.provisioning.support import drain, webhook_receiver

pytestmark = pytest.mark.django_db


def people(tenant, **params) -> str:  # type: ignore[no-untyped-def]
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/console/tenants/{tenant.slug}/people" + (f"?{query}" if query else "")


def test_the_search_page_renders_for_support_and_admin(tenant_a, support_operator, admin_operator):
    for operator in (support_operator, admin_operator):
        response = operator.client.get(people(tenant_a))
        assert response.status_code == 200
        html = response.content.decode()
        assert "Whose access are you checking?" in html and 'aria-current="page">User timeline' in html


def test_an_unknown_tenant_is_a_404(support_operator, db):
    assert support_operator.client.get("/console/tenants/nope/people?q=x").status_code == 404


def test_nobody_matches_shows_a_clear_empty_state(tenant_a, scim, support_operator):
    jane(scim)
    html = support_operator.client.get(people(tenant_a, q="nobody@acme.test")).content.decode()
    assert "Nobody matches" in html and 'class="verdict' not in html


def test_a_rejected_deactivation_shows_verdict_b_with_its_fix_and_the_request(tenant_a, scim, support_operator):
    user_id = jane(scim)
    assert patch(scim, user_id, {"op": "replace", "path": "active", "value": "off"}) == 400
    drain(TenantRef.of(tenant_a))
    with tenant_schema(tenant_a):
        rejected = RequestLog.objects.get(status=400)

    response = support_operator.client.get(people(tenant_a, q="jane@acme.test"))

    assert response.status_code == 200
    html = response.content.decode()
    assert 'class="verdict verdict--error"' in html
    assert "Verdict (b)" in html and "The IdP sent a deactivation and Rollcall rejected it" in html
    assert "active must be a boolean" in html and "true or false" in html  # explanation and fix
    assert f'href="/console/tenants/{tenant_a.slug}/requests/{rejected.pk}"' in html  # the request's detail
    assert html.index('class="verdict') < html.index("History")  # the verdict comes first


def test_a_delivered_deactivation_shows_verdict_e_with_handlers_webhooks_and_offboarding(tenant_a, scim, admin_operator):
    acme = TenantRef.of(tenant_a)
    _, hook_url = delivered_deactivation(scim, acme)

    html = admin_operator.client.get(people(tenant_a, q="00u-jane")).content.decode()

    assert 'class="verdict verdict--ok"' in html and "Verdict (e)" in html
    assert hook_url in html and "Delivered" in html
    assert "Handler" in html and "Offboarding" in html and "user.deactivated" in html
    assert "active=true" in html and "active=false" in html  # the state before and after
    assert "Inactive" in html


def test_several_matches_show_a_picker_and_choosing_one_shows_their_timeline(tenant_a, scim, support_operator):
    user_id = jane(scim)
    other = scim.create_user("jdoe", emails=[{"value": "jane@acme.test", "type": "work"}]).body["id"]

    html = support_operator.client.get(people(tenant_a, q="jane@acme.test")).content.decode()
    assert "2 people match" in html and f"?person={user_id}" in html and f"?person={other}" in html
    assert 'class="verdict' not in html

    chosen = support_operator.client.get(people(tenant_a, person=other)).content.decode()
    assert "jdoe" in chosen and "Verdict (a)" in chosen  # never deactivated


def test_an_unknown_chosen_person_is_nobody_matches(tenant_a, support_operator):
    html = support_operator.client.get(people(tenant_a, person="0f0f0f0f-0000-0000-0000-000000000000")).content.decode()
    assert "Nobody matches" in html


def test_another_tenants_person_is_not_found(tenant_a, tenant_b, scim_b, support_operator):
    jane(scim_b)
    assert "Nobody matches" in support_operator.client.get(people(tenant_a, q="jane@acme.test")).content.decode()
    assert "Verdict (a)" in support_operator.client.get(people(tenant_b, q="jane@acme.test")).content.decode()


def test_the_timeline_page_reads_a_bounded_number_of_queries(tenant_a, scim, support_operator, django_assert_max_num_queries):
    user_id = jane(scim)
    for title in ("One", "Two", "Three", "Four"):
        assert patch(scim, user_id, {"op": "replace", "path": "title", "value": title}) == 200
    drain(TenantRef.of(tenant_a))
    client = support_operator.client
    with django_assert_max_num_queries(30):
        assert client.get(people(tenant_a, q=user_id)).status_code == 200


def test_a_failing_webhook_shows_verdict_d_with_each_attempt_and_the_next_retry(tenant_a, scim, support_operator):
    acme = TenantRef.of(tenant_a)
    with webhook_receiver() as receiver:
        with tenant_schema(acme):
            endpoints.create_endpoint(url=receiver.on("/hooks", then=500))
        user_id = jane(scim)
        deactivate(scim, user_id)
        drain(acme)
        with tenant_schema(acme):
            sending.deliver(acme)

    html = support_operator.client.get(people(tenant_a, q=user_id)).content.decode()

    assert 'class="verdict verdict--error"' in html and "Verdict (d)" in html
    assert "Retrying" in html and "last answered 500" in html and "next retry" in html
    assert 'aria-label="Attempts"' in html
