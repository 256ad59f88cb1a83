"""The tenant list: one query per page at any tenant count, keyset paging, filters, sorts, search."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from console.cadence import CadenceState
from console.setup_progress import SetupStage
from console.tenant_list import TenantFilter, TenantListError, TenantSort, filter_counts, tenant_list
from tenants.models import Tenant, TenantHealth
from tests.support.actors import TEST_ACTOR
from tests.support.queries import count_queries

pytestmark = pytest.mark.django_db


def rows(n: int, *, prefix: str = "t", **health: object) -> list[Tenant]:
    """Tenants as the list sees them: public rows only (the list never reads a tenant schema)."""
    tenants = Tenant.objects.bulk_create(
        Tenant(name=f"{prefix.title()} {i:04d}", slug=f"{prefix}-{i:04d}", schema_name=f"t_{prefix}_{i:04d}")
        for i in range(n)
    )
    TenantHealth.objects.bulk_create(TenantHealth(tenant=t, **health) for t in tenants)  # type: ignore[arg-type]
    return tenants


def all_pages(**query: object) -> list[str]:
    names: list[str] = []
    cursor = None
    for _ in range(100):
        page = tenant_list(cursor=cursor, page_size=7, **query)  # type: ignore[arg-type]
        names += [r.slug for r in page.rows]
        cursor = page.next_cursor
        if cursor is None:
            return names
    raise AssertionError("paging did not end")


def test_a_page_costs_the_same_queries_with_10_and_200_tenants():
    rows(10, prefix="a")
    with count_queries(include_search_path=False) as small:
        page = tenant_list(filter="errors", sort="error_rate")
        tenant_list(sort="name", search="a-00")
    rows(190, prefix="b", requests_24h=10, errors_24h=3, error_rate_24h=0.3, last_error_at=timezone.now())
    with count_queries(include_search_path=False) as large:
        big = tenant_list(filter="errors", sort="error_rate")
        tenant_list(sort="name", search="a-00")
    assert page.rows == [] and len(big.rows) == 50 and big.next_cursor
    assert small.count == large.count == 2


@pytest.mark.parametrize("sort", list(TenantSort))
def test_keyset_paging_visits_every_tenant_once_in_sort_order(sort):
    tenants = rows(30)
    for i, tenant in enumerate(tenants):  # many ties: paging must still neither skip nor repeat
        TenantHealth.objects.filter(tenant=tenant).update(requests_24h=i % 3, users_active=i % 4, outbox_backlog=i % 2)
    seen = all_pages(sort=sort)
    assert sorted(seen) == sorted(t.slug for t in tenants) and len(seen) == 30


def test_name_sort_is_alphabetical_and_case_insensitive():
    Tenant.objects.bulk_create(
        [Tenant(name=n, slug=n.lower(), schema_name=f"t_{n.lower()}") for n in ("bravo", "Alpha", "charlie")]
    )
    TenantHealth.objects.bulk_create(TenantHealth(tenant=t) for t in Tenant.objects.all())
    assert all_pages(sort="name") == ["alpha", "bravo", "charlie"]


def test_filters_errors_in_the_last_hour_setup_stalled_webhooks_failing_and_suspended():
    now = timezone.now()
    (recent_errors,) = rows(1, prefix="err", last_error_at=now - timedelta(minutes=10))
    rows(1, prefix="olderr", last_error_at=now - timedelta(hours=3))
    (stalled,) = rows(1, prefix="stall", setup_stage=SetupStage.LINK_ISSUED, setup_updated_at=now - timedelta(days=5))
    rows(1, prefix="fresh", setup_stage=SetupStage.LINK_ISSUED, setup_updated_at=now - timedelta(hours=1))
    rows(1, prefix="live", setup_stage=SetupStage.CONNECTED, setup_updated_at=now - timedelta(days=30))
    (dead,) = rows(1, prefix="dead", webhooks_dead=3, setup_stage=SetupStage.CONNECTED)
    (failing,) = rows(1, prefix="failing", webhook_endpoints_failing=1, setup_stage=SetupStage.CONNECTED)
    (suspended,) = rows(1, prefix="susp", setup_stage=SetupStage.CONNECTED)
    Tenant.objects.filter(pk=suspended.pk).update(status=Tenant.Status.SUSPENDED)

    assert all_pages(filter="errors") == [recent_errors.slug]
    assert all_pages(filter="setup_stalled") == [stalled.slug]
    assert all_pages(filter="webhooks_failing") == sorted([dead.slug, failing.slug])
    assert all_pages(filter="suspended") == [suspended.slug]
    counts = filter_counts()
    assert counts == {
        TenantFilter.ERRORS_LAST_HOUR: 1,
        TenantFilter.SETUP_STALLED: 1,
        TenantFilter.WEBHOOKS_FAILING: 2,
        TenantFilter.SUSPENDED: 1,
    }
    (row,) = tenant_list(filter="setup_stalled").rows
    assert row.setup_stalled and row.setup_stage is SetupStage.LINK_ISSUED


def test_search_finds_by_name_slug_tenant_id_and_connection_id(tenant_a):
    from tenants.services import create_connection

    rows(3, prefix="other")
    connection = create_connection(tenant=tenant_a, idp="okta", actor=TEST_ACTOR).connection
    assert [r.slug for r in tenant_list(search="ALPHA").rows] == ["alpha"]
    assert [r.slug for r in tenant_list(search=str(tenant_a.pk)).rows] == ["alpha"]
    assert [r.slug for r in tenant_list(search=connection.id).rows] == ["alpha"]
    assert tenant_list(search="no-such-tenant").rows == []


def test_the_row_says_whether_the_last_request_fits_the_idps_cadence():
    now = timezone.now()
    (late,) = rows(1, prefix="entra", idps="entra", last_scim_request_at=now - timedelta(hours=3))
    rows(1, prefix="okta", idps="okta", last_scim_request_at=now - timedelta(days=3))
    rows(1, prefix="never", idps="entra")
    states = {r.slug: r.cadence.state for r in tenant_list(sort="name").rows}
    assert states == {late.slug: CadenceState.LATE, "okta-0000": CadenceState.PUSH, "never-0000": CadenceState.NEVER}


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"filter": "everything"}, "unknown filter"),
        ({"sort": "mood"}, "unknown sort"),
        ({"cursor": "not-a-cursor"}, "out of date"),
        ({"cursor": "WyJuYW1lIiwiYSIsIm5vdC1hLXV1aWQiXQ"}, "out of date"),  # ["name","a","not-a-uuid"]
    ],
)
def test_bad_query_strings_get_a_clear_error(query, message):
    with pytest.raises(TenantListError, match=message):
        tenant_list(**query)


def test_a_cursor_of_another_sort_is_refused():
    rows(3)
    cursor = tenant_list(sort="name", page_size=1).next_cursor
    with pytest.raises(TenantListError):
        tenant_list(sort="requests", cursor=cursor)
    assert uuid.UUID(str(tenant_list(sort="name", page_size=1, cursor=cursor).rows[0].id))
