"""End to end in Debian's Chromium: an admin operator signs in with TOTP, sees the tenant list, filters
it to the tenants with errors, opens one, issues a setup link, looks at its charts, rotates a token,
visits the Operators page and the create-tenant form (with a field error); once in dark mode too.

Screenshots (1280x800) go to docs/screenshots/console-*.png.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from playwright.sync_api import Page, expect

from tenants.models import Operator, ScimConnection, TenantHealth, TenantHealthDay, TenantHealthHour
from tenants.services import create_connection
from tests.console.browser.conftest import sign_in_operator
from tests.console.pages_support import make_operator
from tests.support.actors import TEST_ACTOR
from tests.support.tenants import ensure_tenant

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]


def _seed() -> None:
    """Three tenants with rollup figures; Northwind had errors in the last hour and has 48 h of history."""
    now = timezone.now()
    hour = now.replace(minute=0, second=0, microsecond=0)
    northwind = ensure_tenant("northwind", "Northwind Traders")
    contoso = ensure_tenant("contoso", "Contoso Ltd")
    fabrikam = ensure_tenant("fabrikam", "Fabrikam Inc")
    TenantHealth.objects.filter(tenant=northwind).update(
        refreshed_at=now, idps="okta", detected_idps="okta", last_scim_request_at=now - timedelta(minutes=3),
        last_error_at=now - timedelta(minutes=12), requests_24h=4210, errors_24h=187, status_2xx_24h=4023,
        status_4xx_24h=171, status_5xx_24h=16, unauthorized_24h=40, error_rate_24h=187 / 4210, outbox_backlog=12,
        oldest_pending_at=now - timedelta(minutes=4), webhooks_succeeded_24h=310, webhooks_failed_24h=6, webhooks_dead=1,
        users_total=1240, users_active=1198, groups_total=37, seats={"editor": 850, "admin": 12}, billable_seats=862,
        deprovision_p50_7d=2.4, deprovision_p95_7d=11.0, setup_stage=4,
    )
    TenantHealth.objects.filter(tenant=contoso).update(
        refreshed_at=now, idps="entra", detected_idps="entra", last_scim_request_at=now - timedelta(minutes=25),
        requests_24h=880, status_2xx_24h=880, users_total=310, users_active=301, seats={"viewer": 300}, billable_seats=300,
        setup_stage=5,
    )
    TenantHealth.objects.filter(tenant=fabrikam).update(refreshed_at=now, setup_stage=1, setup_updated_at=now - timedelta(days=6))
    rows = []
    for i in range(48):
        ok = 60 + (i * 37) % 90
        rows.append(
            TenantHealthHour(
                tenant=northwind, hour=hour - timedelta(hours=i), requests=ok + i % 7 + (5 if i in (2, 3) else 0),
                status_2xx=ok, status_4xx=i % 7, status_5xx=5 if i in (2, 3) else 0,
                events_appended=10 + i % 9, events_handled=10 + i % 9 - (4 if i in (2, 3) else 0),
                event_lag_avg_seconds=0.4 + (i % 5) * 0.1, event_lag_max_seconds=2.0 + (30 if i in (2, 3) else i % 4),
                webhooks_succeeded=8 + i % 3, webhooks_failed=3 if i in (2, 3) else 0,
            )
        )
    TenantHealthHour.objects.bulk_create(rows)
    TenantHealthDay.objects.bulk_create(
        TenantHealthDay(tenant=northwind, day=(now - timedelta(days=d)).date(), deprovisions=3 + d,
                        deprovision_p50_seconds=2.0 + d % 3, deprovision_p95_seconds=8.0 + (d * 5) % 20)
        for d in range(14)
    )
    okta = create_connection(tenant=northwind, idp="okta", name="Okta production", actor=TEST_ACTOR).connection
    ScimConnection.objects.filter(pk=okta.pk).update(first_request_at=now - timedelta(days=3), last_request_at=now - timedelta(minutes=3))


def test_operator_walks_through_tenants_tokens_and_operators(page: Page, live_server, shots) -> None:  # type: ignore[no-untyped-def]
    _seed()
    admin = make_operator(Operator.Role.ADMIN, name="dana")
    make_operator(Operator.Role.SUPPORT, name="sam")
    sign_in_operator(page, live_server.url, "dana@ops.example", admin.device)

    expect(page.get_by_role("heading", name="Tenants", level=1)).to_be_visible()
    table = page.get_by_role("table")
    expect(table.get_by_role("link", name="Northwind Traders")).to_be_visible()
    expect(table.get_by_role("link", name="Contoso Ltd")).to_be_visible()
    expect(table.get_by_role("link", name="Fabrikam Inc")).to_be_visible()
    shots("console-tenants-list")

    page.get_by_role("link", name="Errors in the last hour").click()
    expect(page.get_by_role("link", name="Errors in the last hour")).to_have_attribute("aria-current", "page")
    expect(table.get_by_role("link", name="Northwind Traders")).to_be_visible()
    expect(table.get_by_role("link", name="Contoso Ltd")).to_have_count(0)
    shots("console-tenants-filtered")

    table.get_by_role("link", name="Northwind Traders").click()
    expect(page.get_by_role("heading", name="Northwind Traders", level=1)).to_be_visible()
    page.get_by_role("button", name="Issue setup link").click()
    expect(page.get_by_role("heading", name="New setup link")).to_be_visible()
    assert "/setup/" in page.get_by_role("textbox", name="Setup link").input_value()
    shots("console-tenant-overview")
    charts = page.get_by_role("img")
    expect(charts).to_have_count(5)
    page.get_by_role("heading", name="Activity").scroll_into_view_if_needed()
    shots("console-tenant-charts")
    page.get_by_role("heading", name="Deprovision latency per day").scroll_into_view_if_needed()
    shots("console-tenant-charts-lower")

    page.get_by_role("link", name="Connections & tokens").click()
    expect(page.get_by_role("heading", name="Okta production")).to_be_visible()
    page.get_by_label("Old token keeps working for").select_option("72")
    page.get_by_role("button", name="Rotate token").click()
    expect(page.get_by_role("heading", name="New token for Okta production")).to_be_visible()
    expect(page.get_by_text("Overlap")).to_be_visible()
    page.get_by_role("button", name="Rotate token").scroll_into_view_if_needed()  # the tokens table and actions
    shots("console-tenant-tokens")

    page.get_by_role("navigation", name="Main").get_by_role("link", name="Operators").click()
    expect(page.get_by_role("cell", name="sam@ops.example", exact=True)).to_be_visible()
    shots("console-operators")

    page.goto(f"{live_server.url}/console/")
    page.get_by_role("link", name="New tenant").click()
    page.get_by_label("Name").fill("Adventure Works")
    page.get_by_label("Slug").fill("Adventure Works!")
    page.get_by_role("button", name="Create tenant").click()
    expect(page.get_by_text("Invalid slug")).to_be_visible()
    shots("console-tenant-create")

    page.emulate_media(color_scheme="dark")
    page.goto(f"{live_server.url}/console/tenants/northwind/")
    expect(page.get_by_role("heading", name="Northwind Traders", level=1)).to_be_visible()
    shots("console-tenant-overview-dark")
    page.get_by_role("heading", name="Activity").scroll_into_view_if_needed()
    shots("console-tenant-charts-dark")
