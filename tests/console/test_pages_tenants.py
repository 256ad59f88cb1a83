"""Console tenant pages: the list, creating a tenant, the overview and its actions, connections & tokens."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from tenants import services
from tenants.audit import AuditEventType
from tenants.models import (
    AuditEvent,
    ScimToken,
    SetupLink,
    Tenant,
    TenantHealth,
    TenantHealthDay,
    TenantHealthHour,
)
from tests.support.actors import TEST_ACTOR
from tests.support.queries import count_queries

pytestmark = pytest.mark.django_db


def rollup_tenants(count: int, *, prefix: str = "co") -> list[Tenant]:
    """Tenant rows with rollup figures, as the workers leave them (the list reads nothing else)."""
    now = timezone.now()
    tenants = Tenant.objects.bulk_create(
        Tenant(name=f"{prefix.title()} {i:03d}", slug=f"{prefix}-{i:03d}", schema_name=f"t_{prefix}_{i:03d}") for i in range(count)
    )
    TenantHealth.objects.bulk_create(
        TenantHealth(
            tenant=t,
            idps="okta",
            requests_24h=100 + i,
            errors_24h=i % 3,
            error_rate_24h=(i % 3) / (100 + i),
            last_error_at=now - timedelta(minutes=5) if i % 3 else None,
            last_scim_request_at=now - timedelta(minutes=i),
            users_active=i,
            users_total=i + 2,
            seats={"editor": i},
            setup_stage=4,
        )
        for i, t in enumerate(tenants)
    )
    return tenants


def audit_types(**filters: object) -> list[str]:
    return list(AuditEvent.objects.filter(**filters).order_by("id").values_list("type", flat=True))


# --------------------------------------------------------------------------- list


def test_tenant_list_shows_rollup_figures_for_support_and_admin(support_operator, admin_operator) -> None:  # type: ignore[no-untyped-def]
    rollup_tenants(3)
    for who in (support_operator, admin_operator):
        response = who.client.get("/console/")
        body = response.content.decode()
        assert response.status_code == 200
        assert "Co 000" in body and "Co 002" in body and "/console/tenants/co-001/" in body
        assert "Errors in the last hour" in body and "Setup stalled" in body
    assert "New tenant" in admin_operator.client.get("/console/").content.decode()
    assert "New tenant" not in support_operator.client.get("/console/").content.decode()


def test_tenant_list_runs_the_same_number_of_queries_with_3_and_30_tenants(support_operator) -> None:  # type: ignore[no-untyped-def]
    client = support_operator.client
    rollup_tenants(3, prefix="small")
    client.get("/console/")  # warm the session
    with count_queries() as few:
        assert client.get("/console/?sort=requests").status_code == 200
    rollup_tenants(27, prefix="more")
    with count_queries() as many:
        body = client.get("/console/?sort=requests").content.decode()
    assert "More 026" in body
    assert few.count == many.count <= 8


def test_filter_chips_count_and_filter(support_operator) -> None:  # type: ignore[no-untyped-def]
    rollup_tenants(6)  # i % 3 != 0 had an error five minutes ago: 1, 2, 4, 5
    body = support_operator.client.get("/console/?filter=errors").content.decode()
    assert "Co 001" in body and "Co 002" in body and "Co 000" not in body and "Co 003" not in body
    assert 'aria-current="page">Errors in the last hour <span class="filter-chip__count">4</span>' in body


def test_search_and_sort_links_keep_each_other(support_operator) -> None:  # type: ignore[no-untyped-def]
    rollup_tenants(4)
    body = support_operator.client.get("/console/?q=co-00&filter=errors&sort=users").content.decode()
    assert 'href="?q=co-00&amp;filter=errors&amp;sort=requests"' in body  # a column header
    assert 'aria-sort="descending"' in body


def test_list_is_keyset_paged_with_a_next_page_cursor(support_operator) -> None:  # type: ignore[no-untyped-def]
    rollup_tenants(55)
    first = support_operator.client.get("/console/").content.decode()
    assert "Co 049" in first and "Co 050" not in first and "Next page" in first
    next_href = first.split('rel="next"')[0].rsplit('href="', 1)[1].split('"')[0].replace("&amp;", "&")
    second = support_operator.client.get("/console/" + next_href).content.decode()
    assert "Co 050" in second and "Co 054" in second and "Co 049" not in second and "Next page" not in second


@pytest.mark.parametrize("query", ["sort=bogus", "filter=nope", "cursor=%%%garbage", "cursor=eyJ4Ijp9"])
def test_bad_sort_filter_or_cursor_is_a_message_not_a_500(support_operator, query: str) -> None:  # type: ignore[no-untyped-def]
    rollup_tenants(2)
    response = support_operator.client.get(f"/console/?{query}")
    assert response.status_code == 200
    assert "That list could not be shown" in response.content.decode()


def test_empty_list_has_an_empty_state(support_operator) -> None:  # type: ignore[no-untyped-def]
    TenantHealth.objects.all().delete()
    assert "No tenants yet" in support_operator.client.get("/console/").content.decode()
    assert "No tenant matches" in support_operator.client.get("/console/?q=zzz").content.decode()


# --------------------------------------------------------------------------- create


def test_admin_creates_a_tenant_and_lands_on_its_page_with_the_setup_link_once(admin_operator) -> None:  # type: ignore[no-untyped-def]
    client = admin_operator.client
    assert client.get("/console/tenants/new").status_code == 200
    response = client.post("/console/tenants/new", {"name": "Gamma GmbH", "slug": "gamma"})
    assert response.status_code == 302 and response["Location"] == "/console/tenants/gamma/"
    tenant = Tenant.objects.get(slug="gamma")
    assert audit_types(tenant_id=tenant.pk)[:2] == [AuditEventType.TENANT_CREATED, AuditEventType.SETUP_LINK_ISSUED]
    assert AuditEvent.objects.get(type=AuditEventType.TENANT_CREATED, tenant_id=tenant.pk).actor_id == str(admin_operator.operator.user_id)
    page = client.get("/console/tenants/gamma/").content.decode()
    assert "Tenant created: its setup link" in page and "/setup/" in page
    assert "/setup/" not in client.get("/console/tenants/gamma/").content.decode()  # shown once


def test_create_tenant_shows_field_errors(admin_operator, tenant_a) -> None:  # type: ignore[no-untyped-def]
    client = admin_operator.client
    bad_slug = client.post("/console/tenants/new", {"name": "X", "slug": "Not A Slug"})
    assert bad_slug.status_code == 400 and 'id="id_slug_error"' in bad_slug.content.decode()
    taken = client.post("/console/tenants/new", {"name": "Again", "slug": tenant_a.slug})
    assert "already exists" in taken.content.decode()
    empty = client.post("/console/tenants/new", {"name": "", "slug": "delta"})
    assert 'id="id_name_error"' in empty.content.decode()
    assert not Tenant.objects.filter(slug="delta").exists()


def test_support_cannot_create_tenants(support_operator) -> None:  # type: ignore[no-untyped-def]
    assert support_operator.client.get("/console/tenants/new").status_code == 403
    assert support_operator.client.post("/console/tenants/new", {"name": "S", "slug": "sneaky"}).status_code == 403
    assert not Tenant.objects.filter(slug="sneaky").exists()


# --------------------------------------------------------------------------- overview


def test_overview_renders_for_support_and_admin_with_figures_and_charts(support_operator, admin_operator, tenant_a) -> None:  # type: ignore[no-untyped-def]
    now = timezone.now().replace(minute=0, second=0, microsecond=0)
    TenantHealth.objects.filter(tenant=tenant_a).update(requests_24h=1234, errors_24h=17, outbox_backlog=9, users_active=42)
    TenantHealthHour.objects.create(tenant=tenant_a, hour=now - timedelta(hours=2), requests=30, status_2xx=25, status_4xx=4,
                                    status_5xx=1, events_appended=5, events_handled=5, event_lag_avg_seconds=0.4,
                                    event_lag_max_seconds=2.0, webhooks_succeeded=3, webhooks_failed=1)
    TenantHealthDay.objects.create(tenant=tenant_a, day=now.date(), deprovisions=2, deprovision_p50_seconds=3.0, deprovision_p95_seconds=9.0)
    for who in (support_operator, admin_operator):
        body = who.client.get(f"/console/tenants/{tenant_a.slug}/").content.decode()
        assert "1,234" in body and ">17<" in body and ">42<" in body
        assert body.count("<svg class=\"chart__svg\"") == 5
        assert "30 requests in the last 48 hours, 5 of them errors" in body
        assert 'aria-current="page">Overview' in body and f"/console/tenants/{tenant_a.slug}/support" in body
        assert "Issue setup link" in body
    assert "Suspend tenant" in admin_operator.client.get(f"/console/tenants/{tenant_a.slug}/").content.decode()
    assert "Suspend tenant" not in support_operator.client.get(f"/console/tenants/{tenant_a.slug}/").content.decode()


def test_overview_charts_have_empty_states_without_data(support_operator, tenant_a) -> None:  # type: ignore[no-untyped-def]
    body = support_operator.client.get(f"/console/tenants/{tenant_a.slug}/").content.decode()
    assert "No SCIM requests in the last 48 hours." in body and "No deprovisions in the last 14 days." in body
    assert "chart__svg" not in body


def test_unknown_tenant_is_a_404_on_every_tenant_page(admin_operator) -> None:  # type: ignore[no-untyped-def]
    client = admin_operator.client
    assert client.get("/console/tenants/nobody/").status_code == 404
    assert client.get("/console/tenants/nobody/tokens").status_code == 404
    assert client.post("/console/tenants/nobody/setup-link", {"action": "issue"}).status_code == 404
    assert client.post("/console/tenants/nobody/status", {"action": "resume"}).status_code == 404


def test_support_issues_a_setup_link_shown_once_and_audited(support_operator, tenant_a) -> None:  # type: ignore[no-untyped-def]
    response = support_operator.client.post(f"/console/tenants/{tenant_a.slug}/setup-link", {"action": "issue"})
    body = response.content.decode()
    assert response.status_code == 200 and "New setup link" in body and "/setup/" in body
    issued = AuditEvent.objects.filter(type=AuditEventType.SETUP_LINK_ISSUED, tenant_id=tenant_a.pk).latest("id")
    assert issued.actor_kind == "operator" and issued.actor_role == "support"
    assert "/setup/" not in support_operator.client.get(f"/console/tenants/{tenant_a.slug}/").content.decode()


def test_revoking_setup_links_needs_a_reason_and_is_audited(support_operator, tenant_a) -> None:  # type: ignore[no-untyped-def]
    services.issue_setup_link(tenant=tenant_a, actor=TEST_ACTOR)
    url = f"/console/tenants/{tenant_a.slug}/setup-link"
    missing = support_operator.client.post(url, {"action": "revoke", "revoke-reason": ""})
    assert missing.status_code == 400 and 'id="id_revoke-reason_error"' in missing.content.decode()
    done = support_operator.client.post(url, {"action": "revoke", "revoke-reason": "sent to the wrong person"})
    assert "Revoked 1 setup link." in done.content.decode()
    assert not SetupLink.objects.filter(tenant=tenant_a, revoked_at__isnull=True, used_at__isnull=True).exists()
    assert AuditEvent.objects.filter(type=AuditEventType.SETUP_LINK_REVOKED, reason="sent to the wrong person").count() == 1


def test_admin_suspends_with_reason_and_confirmation_then_resumes(admin_operator, tenant_a) -> None:  # type: ignore[no-untyped-def]
    url = f"/console/tenants/{tenant_a.slug}/status"
    client = admin_operator.client
    no_reason = client.post(url, {"action": "suspend", "suspend-reason": " "})
    assert no_reason.status_code == 400 and 'id="id_suspend-reason_error"' in no_reason.content.decode()
    asked = client.post(url, {"action": "suspend", "suspend-reason": "unpaid invoice"})
    assert 'role="alertdialog"' in asked.content.decode()
    tenant_a.refresh_from_db()
    assert tenant_a.status == Tenant.Status.ACTIVE  # nothing happens before the confirmation
    client.post(url, {"action": "suspend", "suspend-reason": "unpaid invoice", "confirmed": "1"})
    tenant_a.refresh_from_db()
    assert tenant_a.status == Tenant.Status.SUSPENDED
    assert AuditEvent.objects.get(type=AuditEventType.TENANT_SUSPENDED, tenant_id=tenant_a.pk).reason == "unpaid invoice"
    assert "Resume tenant" in client.get(f"/console/tenants/{tenant_a.slug}/").content.decode()
    client.post(url, {"action": "resume"})
    tenant_a.refresh_from_db()
    assert tenant_a.status == Tenant.Status.ACTIVE
    assert AuditEventType.TENANT_RESUMED in audit_types(tenant_id=tenant_a.pk)


def test_support_gets_403_on_suspend_and_resume(support_operator, tenant_a) -> None:  # type: ignore[no-untyped-def]
    url = f"/console/tenants/{tenant_a.slug}/status"
    assert support_operator.client.post(url, {"action": "suspend", "suspend-reason": "x", "confirmed": "1"}).status_code == 403
    tenant_a.refresh_from_db()
    assert tenant_a.status == Tenant.Status.ACTIVE


# --------------------------------------------------------------------------- connections & tokens


@pytest.fixture
def okta(tenant_a):  # type: ignore[no-untyped-def]
    return services.create_connection(tenant=tenant_a, idp="okta", name="Okta production", actor=TEST_ACTOR)


def test_tokens_page_lists_connections_and_tokens_for_support_without_buttons(support_operator, admin_operator, tenant_a, okta) -> None:  # type: ignore[no-untyped-def]
    url = f"/console/tenants/{tenant_a.slug}/tokens"
    support = support_operator.client.get(url).content.decode()
    assert "Okta production" in support and okta.connection.id in support and "Active" in support
    assert "Rotate token" not in support and "Revoke all tokens" not in support
    admin = admin_operator.client.get(url).content.decode()
    assert "Rotate token" in admin and "Revoke all tokens" in admin


def test_admin_rotates_a_token_with_overlap_and_sees_it_once(admin_operator, tenant_a, okta) -> None:  # type: ignore[no-untyped-def]
    url = f"/console/tenants/{tenant_a.slug}/tokens"
    response = admin_operator.client.post(url, {"action": "rotate", "rotate-connection": okta.connection.id, "rotate-overlap": "72"})
    body = response.content.decode()
    assert response.status_code == 200 and "New token for Okta production" in body and "3 days" in body
    tokens = list(ScimToken.objects.filter(connection=okta.connection).order_by("id"))
    assert len(tokens) == 2 and tokens[0].expires_at is not None and tokens[1].expires_at is None
    assert timedelta(hours=71) < tokens[0].expires_at - timezone.now() <= timedelta(hours=72)
    assert tokens[1].prefix in body and "Overlap" in body
    assert AuditEvent.objects.filter(type=AuditEventType.TOKEN_ROTATED, target_id=okta.connection.id).count() == 1
    assert "New token for" not in admin_operator.client.get(url).content.decode()


def test_admin_revokes_tokens_with_a_reason(admin_operator, tenant_a, okta) -> None:  # type: ignore[no-untyped-def]
    url = f"/console/tenants/{tenant_a.slug}/tokens"
    missing = admin_operator.client.post(url, {"action": "revoke", "revoke-connection": okta.connection.id, "revoke-reason": ""})
    assert missing.status_code == 400 and "Give a reason" in missing.content.decode()
    assert not ScimToken.objects.filter(connection=okta.connection, revoked_at__isnull=False).exists()
    done = admin_operator.client.post(url, {"action": "revoke", "revoke-connection": okta.connection.id, "revoke-reason": "leaked in a ticket"})
    assert "Revoked 1 token of Okta production" in done.content.decode()
    assert AuditEvent.objects.get(type=AuditEventType.TOKEN_REVOKED).reason == "leaked in a ticket"


def test_support_gets_403_on_token_actions(support_operator, tenant_a, okta) -> None:  # type: ignore[no-untyped-def]
    url = f"/console/tenants/{tenant_a.slug}/tokens"
    assert support_operator.client.post(url, {"action": "rotate", "rotate-connection": okta.connection.id, "rotate-overlap": "24"}).status_code == 403
    assert support_operator.client.post(url, {"action": "revoke", "revoke-connection": okta.connection.id, "revoke-reason": "x"}).status_code == 403
    assert ScimToken.objects.filter(connection=okta.connection).count() == 1


def test_a_connection_of_another_tenant_is_a_404(admin_operator, tenant_a, tenant_b) -> None:  # type: ignore[no-untyped-def]
    other = services.create_connection(tenant=tenant_b, idp="okta", actor=TEST_ACTOR)
    url = f"/console/tenants/{tenant_a.slug}/tokens"
    response = admin_operator.client.post(url, {"action": "rotate", "rotate-connection": other.connection.id, "rotate-overlap": "24"})
    assert response.status_code == 404
    assert ScimToken.objects.filter(connection=other.connection).count() == 1


def test_tokens_page_empty_state(support_operator, tenant_a) -> None:  # type: ignore[no-untyped-def]
    assert "No connections yet" in support_operator.client.get(f"/console/tenants/{tenant_a.slug}/tokens").content.decode()


def test_an_admin_rebuilds_a_tenants_figures_as_a_job_and_lands_on_its_progress(tenant_a, admin_operator) -> None:  # type: ignore[no-untyped-def]
    from console.jobs import job_progress
    from tenants.audit import AuditEventType, AuditWindow, audit_events

    response = admin_operator.client.post(f"/console/tenants/{tenant_a.slug}/rebuild")
    assert response.status_code == 302 and response["Location"].startswith("/console/jobs/")
    job_id = response["Location"].rstrip("/").rsplit("/", 1)[-1]
    progress = job_progress(job_id)
    assert progress is not None and not progress.finished  # queued for the worker, not run in the request
    requested = audit_events(AuditWindow(tenant_id=str(tenant_a.pk)), types=[AuditEventType.JOB_REQUESTED])
    assert [event.actor_label for event in requested] == [admin_operator.operator.user.email]
