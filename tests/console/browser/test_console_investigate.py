"""End to end in Debian's Chromium: a tenant whose IdP sent a deactivation Rollcall refused (400). An
operator signs in, opens the request log, keeps only errors, opens the refused request, follows it to
the person's timeline and reads verdict (b); searches for nobody; and sees a parked event in the outbox.
Screenshots: docs/screenshots/console-*.png."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from outbox.event_types import EventType
from provisioning.handlers import HandlerContext, PermanentHandlerError, register, unregister
from tenants.context import TenantRef
from tenants.models import Operator
from tests.console.browser.conftest import sign_in_operator
from tests.console.pages_support import make_operator
from tests.console.test_timeline_verdicts import deactivate, jane, patch
from tests.provisioning.support import drain
from tests.support.scim_client import ScimClient

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
POISON = "legacy.contractor@acme.test"


def _seed(tenant) -> str:  # type: ignore[no-untyped-def]
    """Jane's deactivation refused (active: "off"), some ordinary traffic, and a parked event."""
    scim = ScimClient.for_tenant(tenant, idp="okta")
    user_id = jane(scim)
    for name in ("sam.lee@acme.test", "li.wei@acme.test"):
        assert scim.create_user(name).status == 201
    scim.create_group("Engineering", members=[user_id])
    sam = scim.get('/Users?filter=userName eq "sam.lee@acme.test"').body["Resources"][0]["id"]
    deactivate(scim, sam)
    assert scim.get("/Users/6f1c2a9e-0000-4000-8000-000000000000").status == 404
    assert patch(scim, user_id, {"op": "replace", "path": "active", "value": "off"}) == 400

    @register("test_browser_poison", [EventType.USER_CREATED], order=0)
    def refuse(ctx: HandlerContext) -> None:
        if ctx.payload["user"]["user_name"] == POISON:
            raise PermanentHandlerError("the CRM rejects this user's employee number")

    try:
        assert scim.create_user(POISON).status == 201
        drain(TenantRef.of(tenant))
    finally:
        unregister("test_browser_poison")
    assert scim.create_user("new.starter@acme.test").status == 201  # waits in the outbox (no drain)
    return user_id


def test_an_operator_traces_a_refused_deactivation_to_verdict_b(page: Page, live_server, tenant_a, shots) -> None:  # type: ignore[no-untyped-def]
    _seed(tenant_a)
    admin = make_operator(Operator.Role.ADMIN)
    sign_in_operator(page, live_server.url, admin.operator.user.email, admin.device)

    page.goto(f"{live_server.url}/console/tenants/{tenant_a.slug}/requests")
    expect(page.get_by_role("heading", name="SCIM requests")).to_be_visible()
    page.get_by_label("Only errors").check()
    page.get_by_role("button", name="Apply").click()
    rows = page.get_by_role("table", name="SCIM requests, newest first").locator("tbody tr.investigate-log__row")
    expect(rows).to_have_count(2)
    expect(page.get_by_text("true or false").first).to_be_visible()  # the fix next to the error
    shots("console-requests")

    rows.first.get_by_role("link", name="Details").click()  # expands in place (htmx)
    expanded = page.locator(".investigate-log__expand td").first
    expect(expanded.get_by_role("heading", name="Request body")).to_be_visible()
    expect(expanded.get_by_text('"value": "off"')).to_be_visible()
    rows.first.evaluate("e => e.scrollIntoView({block: 'start'})")
    shots("console-requests-expanded")
    expanded.get_by_role("button", name="Hide").click()
    expect(expanded.get_by_role("heading", name="Request body")).to_have_count(0)

    rows.first.get_by_role("link", name="Details").click()
    expanded.get_by_role("link", name="Open as a page").click()
    expect(page.get_by_role("navigation", name="Breadcrumb")).to_be_visible()
    expect(page.get_by_role("heading", name="Request body")).to_be_visible()
    expect(page.get_by_text("active must be a boolean").first).to_be_visible()
    shots("console-request-detail")

    page.get_by_role("link", name="User timeline", exact=True).last.click()
    expect(page.get_by_text("Verdict (b)")).to_be_visible()
    expect(page.get_by_role("heading", name="The IdP sent a deactivation and Rollcall rejected it")).to_be_visible()
    shots("console-timeline-verdict")

    page.get_by_label("Email, userName, externalId or id").fill("nobody@acme.test")
    page.get_by_role("button", name="Show timeline").click()
    expect(page.get_by_text("Nobody matches")).to_be_visible()
    shots("console-timeline-search")

    page.get_by_role("navigation", name=tenant_a.name).get_by_role("link", name="Outbox").click()
    expect(page.get_by_role("heading", name="Parked events")).to_be_visible()
    expect(page.get_by_text("the CRM rejects this user's employee number")).to_be_visible()
    expect(page.get_by_role("button", name="Retry")).to_be_visible()
    shots("console-outbox")
