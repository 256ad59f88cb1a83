"""Console: a tenant's request log explorer, its export and a request's detail, over requests sent
through the real SCIM endpoint."""

from __future__ import annotations

import csv
import io
import json
from datetime import timedelta

import pytest
from django.utils import timezone

from scim_api.models import RequestLog
from tenants.context import tenant_schema
from tests.console.test_timeline_verdicts import deactivate, jane, patch
from tests.provisioning.support import drain
from tests.support.scim_client import PATCH_OP, ScimClient

pytestmark = pytest.mark.django_db


@pytest.fixture
def seeded(tenant_a, scim):  # type: ignore[no-untyped-def]
    """Jane created then deactivated (events), a rejected deactivation of Bob (400 invalidValue), a group
    naming Jane, a 404 read, and a request on a second (Okta) connection."""
    from tenants.context import TenantRef

    user_id = jane(scim)
    deactivate(scim, user_id)
    bob = scim.create_user("bob@acme.test").body["id"]
    assert patch(scim, bob, {"op": "replace", "path": "active", "value": "off"}) == 400
    group = scim.create_group("Engineering", members=[user_id]).body["id"]
    assert scim.get("/Users/00000000-0000-0000-0000-000000000000").status == 404
    okta = ScimClient.for_tenant(tenant_a, idp="okta")
    assert okta.create_user("carol@acme.test").status == 201
    drain(TenantRef.of(tenant_a))
    return {"jane": user_id, "bob": bob, "group": group, "okta": okta.connection_id, "generic": scim.connection_id}


def url(tenant, **params) -> str:  # type: ignore[no-untyped-def]
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return f"/console/tenants/{tenant.slug}/requests" + (f"?{query}" if query else "")


def rows_of(tenant_a, **filters) -> list[RequestLog]:  # type: ignore[no-untyped-def]
    with tenant_schema(tenant_a):
        return list(RequestLog.objects.filter(**filters).order_by("-id"))


def detail_links(html: str, tenant) -> int:  # type: ignore[no-untyped-def]
    return html.count(f'href="/console/tenants/{tenant.slug}/requests/')


def test_the_log_renders_for_support_and_admin_newest_first(tenant_a, seeded, support_operator, admin_operator):
    for operator in (support_operator, admin_operator):
        response = operator.client.get(url(tenant_a))
        assert response.status_code == 200
        html = response.content.decode()
        assert "Request log" in html and tenant_a.name in html
        assert detail_links(html, tenant_a) == len(rows_of(tenant_a))
    newest = rows_of(tenant_a)[0]
    assert html.index(f"/requests/{newest.pk}\"") < html.index(f"/requests/{rows_of(tenant_a)[-1].pk}\"")


def test_an_unknown_tenant_is_a_404(support_operator, db):
    assert support_operator.client.get("/console/tenants/nope/requests").status_code == 404
    assert support_operator.client.get("/console/tenants/nope/requests/1").status_code == 404


def test_each_filter_narrows_the_rows(tenant_a, seeded, support_operator):
    client = support_operator.client
    total = len(rows_of(tenant_a))

    def count(**params) -> int:  # type: ignore[no-untyped-def]
        response = client.get(url(tenant_a, **params))
        assert response.status_code == 200, response.content.decode()[:400]
        return detail_links(response.content.decode(), tenant_a)

    assert count(connection=seeded["okta"]) == len(rows_of(tenant_a, connection_id=seeded["okta"])) == 1
    assert count(method="PATCH") == len(rows_of(tenant_a, method="PATCH")) == 2
    assert count(status="4xx") == len(rows_of(tenant_a, status__gte=400)) == 2
    assert count(status="404") == 1
    assert count(scim_type="invalidValue") == 1
    assert count(resource="Group") == len(rows_of(tenant_a, resource_type="Group")) == 1
    assert count(who=seeded["bob"]) == len(rows_of(tenant_a, resource_id=seeded["bob"])) == 2
    assert count(who="bob@acme.test") == 2  # by userName
    assert count(who="Engineering") == 1  # a group by its name
    assert count(text="carol@acme") == 1
    assert count(errors="1") == 2
    with tenant_schema(tenant_a):
        slow = RequestLog.objects.filter(method="POST").order_by("id").first()
        assert slow is not None
        RequestLog.objects.filter(pk=slow.pk).update(latency_ms=5000.0, received_at=timezone.now() - timedelta(days=3))
    assert count(min_latency="4000") == 1
    since = (timezone.now() - timedelta(days=1)).strftime("%Y-%m-%dT%H:%M")
    assert count(since=since) == total - 1
    assert count(until=since) == 1
    assert 0 < count(method="PATCH", errors="1") == 1  # filters combine


def test_bad_filters_show_field_errors_not_a_500(tenant_a, seeded, support_operator):
    response = support_operator.client.get(url(tenant_a, min_latency="fast", since="yesterday", who="nobody@x.test", scim_type="bogus"))
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="min_latency-error"' in html and "number of milliseconds" in html
    assert 'id="since-error"' in html and 'id="who-error"' in html and 'id="scim_type-error"' in html


def test_errors_show_the_fix_next_to_them(tenant_a, seeded, support_operator):
    html = support_operator.client.get(url(tenant_a, errors="1")).content.decode()
    assert "true or false" in html  # console.explain.rejection_fix for invalidValue
    assert "Re-push the user from the IdP" in html  # ... and for a 404


def test_keyset_pages_without_repeating_rows(tenant_a, seeded, support_operator, monkeypatch):
    from portal.views import console_requests

    monkeypatch.setattr(console_requests, "PAGE", 3)
    client = support_operator.client
    first = client.get(url(tenant_a)).content.decode()
    assert 'rel="next"' in first
    older = first.split('rel="next"')[0].rsplit('href="?', 1)[1].split('"')[0].replace("&amp;", "&")
    second = client.get(f"/console/tenants/{tenant_a.slug}/requests?{older}").content.decode()
    pks = [r.pk for r in rows_of(tenant_a)]
    assert all(f"/requests/{pk}\"" in first for pk in pks[:3])
    assert all(f"/requests/{pk}\"" in second for pk in pks[3:6])
    assert not any(f"/requests/{pk}\"" in second for pk in pks[:3])


def _export(client, tenant_a, fmt: str, **params) -> bytes:  # type: ignore[no-untyped-def]
    response = client.get(url(tenant_a, export=fmt, **params))
    assert response.status_code == 200 and response.streaming
    assert f"-scim-requests.{fmt}" in response["Content-Disposition"]
    return b"".join(response.streaming_content)


def test_csv_export_holds_exactly_the_filtered_rows_and_no_secret(tenant_a, seeded, support_operator):
    body = _export(support_operator.client, tenant_a, "csv", method="PATCH")
    rows = list(csv.DictReader(io.StringIO(body.decode())))
    assert [int(r["id"]) for r in rows] == [r.pk for r in rows_of(tenant_a, method="PATCH")]
    assert {r["method"] for r in rows} == {"PATCH"}
    assert any("invalidValue" in r["response_body"] for r in rows)
    text = body.decode()
    assert "Authorization" not in text and "Bearer" not in text and seeded_token(tenant_a) not in text


def test_json_export_holds_exactly_the_filtered_rows_and_no_secret(tenant_a, seeded, support_operator):
    body = _export(support_operator.client, tenant_a, "json", errors="1")
    rows = json.loads(body)
    assert [r["id"] for r in rows] == [r.pk for r in rows_of(tenant_a, status__gte=400)]
    assert all(r["status"] >= 400 for r in rows)
    assert "Authorization" not in body.decode() and "Bearer" not in body.decode()
    assert json.loads(_export(support_operator.client, tenant_a, "json", text="no-such-text")) == []


def seeded_token(tenant_a) -> str:  # type: ignore[no-untyped-def]
    # Tokens are shown once and never stored in clear; the prefix is what could leak into a log.
    from tenants.models import ScimToken

    token = ScimToken.objects.filter(connection__tenant=tenant_a).order_by("created_at").first()
    assert token is not None
    return token.prefix


def test_the_export_streams_in_chunks(tenant_a, seeded, support_operator, django_assert_max_num_queries):
    from scim_api.selectors import RequestFilter, filtered_request_rows

    with tenant_schema(tenant_a), django_assert_max_num_queries(4):
        ids = [row[0] for row in filtered_request_rows(RequestFilter(), chunk_size=3)]
    assert ids == [r.pk for r in rows_of(tenant_a)]


def test_a_request_detail_shows_the_redacted_body_and_the_events_it_produced(tenant_a, seeded, support_operator):
    deactivation = rows_of(tenant_a, method="PATCH", resource_id=seeded["jane"])[0]
    response = support_operator.client.get(f"/console/tenants/{tenant_a.slug}/requests/{deactivation.pk}")
    assert response.status_code == 200
    html = response.content.decode()
    assert "user.deactivated" in html and "Events it produced" in html
    assert PATCH_OP in html and "Bearer" not in html
    assert f"?person={seeded['jane']}" in html  # to her timeline


def test_a_rejected_request_detail_shows_the_error_and_its_fix(tenant_a, seeded, admin_operator):
    rejected = rows_of(tenant_a, status=400)[0]
    html = admin_operator.client.get(f"/console/tenants/{tenant_a.slug}/requests/{rejected.pk}").content.decode()
    assert "invalidValue" in html and "true or false" in html and "active must be a boolean" in html
    assert "None: reads and refused requests change nothing." in html


def test_a_request_of_another_tenant_is_a_404(tenant_a, tenant_b, seeded, support_operator):
    other = ScimClient.for_tenant(tenant_b)
    other.create_user("zed@bravo.test")
    with tenant_schema(tenant_b):
        pk = RequestLog.objects.order_by("-id").values_list("id", flat=True).first()
    known = {r.pk for r in rows_of(tenant_a)}
    missing = max(known | {pk or 0}) + 1
    assert support_operator.client.get(f"/console/tenants/{tenant_a.slug}/requests/{missing}").status_code == 404
    html = support_operator.client.get(url(tenant_a, text="zed@bravo")).content.decode()
    assert "No request matches" in html


def test_the_log_has_an_empty_state(tenant_a, support_operator):
    html = support_operator.client.get(url(tenant_a)).content.decode()
    assert "No requests yet" in html and "Export CSV" not in html


def test_the_log_and_a_detail_read_a_bounded_number_of_queries(tenant_a, seeded, support_operator, django_assert_max_num_queries):
    client = support_operator.client
    client.get(url(tenant_a))  # warm the session
    with django_assert_max_num_queries(14):
        assert client.get(url(tenant_a, errors="1", text="a")).status_code == 200
    pk = rows_of(tenant_a)[0].pk
    with django_assert_max_num_queries(14):
        assert client.get(f"/console/tenants/{tenant_a.slug}/requests/{pk}").status_code == 200


def test_a_row_expands_in_place_and_hides_again(tenant_a, seeded, support_operator):
    rejected = rows_of(tenant_a, status=400)[0]
    detail = f"/console/tenants/{tenant_a.slug}/requests/{rejected.pk}"
    assert f'hx-get="{detail}" hx-target="#request-{rejected.pk}"' in support_operator.client.get(url(tenant_a)).content.decode()
    partial = support_operator.client.get(detail, HTTP_HX_REQUEST="true").content.decode()
    assert "<html" not in partial and "Open as a page" in partial and "true or false" in partial
    assert support_operator.client.get(f"{detail}?part=none", HTTP_HX_REQUEST="true").content == b""
