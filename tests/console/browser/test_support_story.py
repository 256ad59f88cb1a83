"""The support engineer's story from the issue, in one browser session, on real traffic and a real worker.

"Why didn't Jane get deprovisioned?" Initech's IdP sent a deactivation Rollcall refused, and Initech's
webhook receiver was down, so its deliveries went dead. An operator signs in with TOTP, finds the
tenant with errors, opens its request log, finds the refused deactivation, opens Jane's timeline and
reads the verdict; then replays a dead delivery to the (now fixed) receiver on 127.0.0.1, sees it
delivered, and exports the audit log, which holds the replay. Nothing is seeded behind the pages' back:
SCIM requests go through the SCIM endpoint, the worker delivers the webhooks, the rollup is built by
its own beat job.
"""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from django_tenants.utils import schema_context
from playwright.sync_api import Page, expect

from console import rollup, services
from provisioning.models import WebhookDelivery
from tenants.models import Operator
from tests.console.browser.conftest import sign_in_operator
from tests.console.pages_support import make_operator
from tests.console.test_timeline_verdicts import jane, patch
from tests.provisioning.infra import Receiver, wait_for
from tests.support.actors import OPERATOR
from tests.support.scim_client import ScimClient
from tests.support.tenants import ensure_tenant

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
TIMEOUT_MS = 20_000


def _deliveries(schema: str) -> list[WebhookDelivery]:
    with schema_context(schema):
        return list(WebhookDelivery.objects.order_by("id"))


def test_a_support_engineer_explains_why_jane_was_not_deprovisioned_and_fixes_the_delivery(  # type: ignore[no-untyped-def]
    page: Page, live_server, delivery_worker, receiver: Receiver
) -> None:
    initech = ensure_tenant("initech", "Initech")
    calm = ensure_tenant("globex", "Globex")
    hooks = receiver.on("/hooks", then=500)  # Initech's receiver is down
    services.create_webhook_endpoint(tenant=initech, url=hooks, description="Initech app", actor=OPERATOR)

    scim = ScimClient.for_tenant(initech, idp="okta")
    jane_id = jane(scim)
    assert scim.get("/Users/6f1c2a9e-0000-4000-8000-000000000000").status == 404
    assert patch(scim, jane_id, {"op": "replace", "path": "active", "value": "off"}) == 400  # refused
    globex = ScimClient.for_tenant(calm, idp="entra")
    assert globex.create_user("sam@globex.example").status == 201

    wait_for(
        lambda: bool(_deliveries(initech.schema_name)) and all(d.status == "dead" for d in _deliveries(initech.schema_name)),
        timeout=40, interval=0.3, what="Initech's deliveries to go dead",
    )
    rollup.reconcile_tenants(batch=100)  # the beat job that keeps the tenant list's figures

    support = make_operator(Operator.Role.SUPPORT, name="riley")
    sign_in_operator(page, live_server.url, "riley@ops.example", support.device)

    # -- which tenant has errors?
    page.get_by_role("link", name="Errors in the last hour").click()
    table = page.get_by_role("table")
    expect(table.get_by_role("link", name="Initech")).to_be_visible()
    expect(table.get_by_role("link", name="Globex")).to_have_count(0)
    table.get_by_role("link", name="Initech").click()
    expect(page.get_by_role("heading", name="Initech", level=1)).to_be_visible()

    # -- its request log, errors only: the refused deactivation, with the fix
    page.get_by_role("navigation", name="Initech").get_by_role("link", name="Request log").click()
    page.get_by_label("Only errors").check()
    page.get_by_role("button", name="Apply").click()
    rows = page.get_by_role("table", name="SCIM requests, newest first").locator("tbody tr.investigate-log__row")
    expect(rows).to_have_count(2)  # the refused PATCH and the 404
    expect(rows.first).to_contain_text("PATCH")
    rows.first.get_by_role("link", name="Details").click()
    expanded = page.locator(".investigate-log__expand td").first
    expect(expanded.get_by_text('"value": "off"')).to_be_visible()
    expanded.get_by_role("link", name="Open as a page").click()
    expect(page.get_by_text("active must be a boolean").first).to_be_visible()

    # -- Jane's timeline: the verdict
    page.get_by_role("link", name="User timeline", exact=True).last.click()
    expect(page.get_by_text("Verdict (b)")).to_be_visible()
    expect(page.get_by_role("heading", name="The IdP sent a deactivation and Rollcall rejected it")).to_be_visible()

    # -- the receiver is fixed; replay a dead delivery and see it delivered (support may replay)
    receiver.on("/hooks", then=200)
    hits_before = len(receiver.hits("/hooks"))
    page.get_by_role("navigation", name="Initech").get_by_role("link", name="Webhooks").click()
    page.get_by_role("link", name="Dead letter").click()
    dead = _deliveries(initech.schema_name)[0]
    page.get_by_role("link", name=f"Delivery of event {dead.event_seq}").click()
    page.get_by_label("Reason").fill("receiver back up, ticket 881")
    page.get_by_role("button", name="Replay now").click()
    wait_for(
        lambda: next(d for d in _deliveries(initech.schema_name) if d.pk == dead.pk).status == "succeeded",
        timeout=20, interval=0.3, what="the replayed delivery to succeed",
    )
    page.reload()
    expect(page.locator(".card__header .badge", has_text="Succeeded")).to_be_visible()
    assert len(receiver.hits("/hooks")) == hits_before + 1  # the replay reached the receiver, once

    # -- the audit log, exported for Initech, holds the replay with its reason
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Audit log").click()
    export = page.locator("#export")
    export.get_by_label("Tenant").fill("initech")
    export.get_by_label("Format").select_option("csv")
    export.get_by_role("button", name="Start export").click()
    download_link = page.get_by_role("link", name="Download CSV")
    expect(download_link).to_be_visible(timeout=TIMEOUT_MS)
    with page.expect_download() as info:
        download_link.click()
    rows_out = list(csv.DictReader(io.StringIO(Path(info.value.path()).read_text())))
    replayed = [r for r in rows_out if r["type"] == "webhook_delivery.replayed"]
    assert len(replayed) == 1 and replayed[0]["reason"] == "receiver back up, ticket 881"
    assert {r["tenant_id"] for r in rows_out} == {str(initech.pk)}
