"""End to end in Debian's Chromium with a real worker and a local webhook receiver: a delivery goes
dead (the receiver answers 500), the operator opens Webhooks, the dead letter, replays the delivery
once the receiver is fixed and sees it delivered; exports the audit log through a job and downloads
the CSV; issues an Events API key (shown once); starts support access and reads the tenant's portal
(read-only, with the banner). Each page is saved as a 1280x800 screenshot in docs/screenshots/."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from django.db import transaction
from django_tenants.utils import schema_context
from playwright.sync_api import Page, expect

from console import services
from provisioning.models import WebhookDelivery
from tenants.models import Operator
from tests.console.browser.conftest import sign_in_operator
from tests.console.pages_support import make_operator
from tests.provisioning.infra import Receiver, wait_for
from tests.support.actors import OPERATOR
from tests.support.directory import make_user
from tests.support.tenants import ensure_tenant

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
TIMEOUT_MS = 20_000


def _deliveries(schema: str) -> list[WebhookDelivery]:
    with schema_context(schema):
        return list(WebhookDelivery.objects.select_related("endpoint").order_by("id"))


def test_an_operator_replays_a_dead_delivery_exports_the_audit_log_and_views_the_portal_read_only(  # type: ignore[no-untyped-def]
    page: Page, live_server, delivery_worker, receiver: Receiver, shots
) -> None:
    tenant = ensure_tenant("harbor", "Harbor Freight Co")
    hooks = receiver.on("/hooks", then=500)
    services.create_webhook_endpoint(tenant=tenant, url=hooks, description="Harbor app (production)", actor=OPERATOR)
    services.create_webhook_endpoint(tenant=tenant, url=receiver.on("/audit-sink"), description="Audit sink", actor=OPERATOR)
    with schema_context(tenant.schema_name), transaction.atomic():
        for name in ("ada", "grace", "linus"):
            make_user(f"{name}@harbor.example", given=name.capitalize())

    def all_settled() -> bool:
        rows = _deliveries(tenant.schema_name)
        return len(rows) == 6 and all(d.status in ("dead", "succeeded") for d in rows)

    wait_for(all_settled, timeout=40, interval=0.3, what="deliveries to /hooks dead and to /audit-sink delivered")
    dead = [d for d in _deliveries(tenant.schema_name) if d.status == "dead"]
    assert len(dead) == 3 and all(d.endpoint.url == hooks for d in dead)

    admin = make_operator(Operator.Role.ADMIN, name="mira")
    sign_in_operator(page, live_server.url, "mira@ops.example", admin.device)

    # -- Webhooks: endpoints (one failing), deliveries; then the dead letter
    page.goto(f"{live_server.url}/console/tenants/{tenant.slug}/webhooks")
    expect(page.get_by_role("heading", name="Endpoints")).to_be_visible()
    expect(page.get_by_text("Harbor app (production)").first).to_be_visible()
    shots("console-webhooks")
    page.get_by_role("link", name="Dead letter").click()
    expect(page.get_by_role("heading", name="Dead letter")).to_be_visible()
    rows = page.get_by_role("table", name="Webhook deliveries").get_by_role("row")
    expect(rows).to_have_count(4)  # the header and the three dead deliveries
    page.locator("#deliveries").evaluate("card => card.scrollIntoView()")
    shots("console-webhook-dead")

    # -- the receiver is fixed; replay one dead delivery from its detail page
    receiver.on("/hooks", then=200)
    first = dead[0]
    page.get_by_role("link", name=f"Delivery of event {first.event_seq}").click()
    expect(page.get_by_role("heading", name="Attempts")).to_be_visible()
    expect(page.get_by_role("table", name="Delivery attempts, newest first").get_by_role("row")).to_have_count(3)
    page.get_by_label("Reason").fill("receiver fixed, ticket 5120")
    page.get_by_role("button", name="Replay now").click()
    expect(page.locator(".alert", has_text=re.compile("Replay queued|Replayed and delivered"))).to_be_visible()
    wait_for(
        lambda: next(d for d in _deliveries(tenant.schema_name) if d.pk == first.pk).status == "succeeded",
        timeout=20, interval=0.3, what="the replayed delivery to succeed",
    )
    page.reload()
    expect(page.locator(".card__header .badge", has_text="Succeeded")).to_be_visible()
    expect(page.get_by_text("Replayed and delivered")).to_be_visible()
    expect(page.get_by_role("table", name="Delivery attempts, newest first").get_by_role("cell", name="200")).to_be_visible()
    shots("console-delivery-detail")

    # -- the other two dead deliveries: a bulk replay by seq range, a job whose progress the page polls
    page.get_by_role("navigation", name="Harbor Freight Co").get_by_role("link", name="Webhooks").click()
    replay = page.locator("#replay")
    replay.get_by_label("Endpoint").select_option(label="Harbor app (production)")
    replay.get_by_label("From seq").fill(str(dead[1].event_seq))
    replay.get_by_label("To seq").fill(str(dead[2].event_seq))
    replay.get_by_label("Reason").fill("receiver fixed, the rest of ticket 5120")
    replay.get_by_role("button", name="Start replay").click()
    expect(page.locator("#replay").get_by_text("2 deliveries replayed")).to_be_visible(timeout=TIMEOUT_MS)
    wait_for(
        lambda: all(d.status == "succeeded" for d in _deliveries(tenant.schema_name)),
        timeout=20, interval=0.3, what="every delivery delivered after the bulk replay",
    )

    # -- Events API keys: issued and shown once
    page.get_by_role("link", name="API keys").click()
    expect(page.get_by_text("No API keys")).to_be_visible()
    page.get_by_label("Label").fill("Harbor events consumer")
    page.get_by_role("button", name="Issue key").click()
    expect(page.get_by_role("heading", name="Key issued: Harbor events consumer")).to_be_visible()
    key = page.get_by_role("textbox", name="Events API key").input_value()
    assert len(key) > 20
    shots("console-apikeys")

    # -- the audit log; export it as CSV through a job and download the file
    page.get_by_role("link", name="Audit log").click()
    expect(page.get_by_role("heading", name="Audit log")).to_be_visible()
    expect(page.get_by_text("receiver fixed, ticket 5120")).to_be_visible()
    shots("console-audit")
    export = page.locator("#export")
    export.get_by_label("Tenant").fill("harbor")
    export.get_by_label("Format").select_option("csv")
    export.get_by_role("button", name="Start export").click()
    download_link = page.get_by_role("link", name="Download CSV")
    expect(download_link).to_be_visible(timeout=TIMEOUT_MS)
    shots("console-audit-export-job")
    with page.expect_download() as info:
        download_link.click()
    content = Path(info.value.path()).read_text()
    rows_out = list(csv.DictReader(io.StringIO(content)))
    assert "webhook_delivery.replayed" in {r["type"] for r in rows_out}
    assert {r["tenant_id"] for r in rows_out} == {str(tenant.pk)}

    # -- support access: start a session, open the portal read-only
    page.goto(f"{live_server.url}/console/tenants/{tenant.slug}/support")
    page.get_by_label("Reason").fill("ticket 5120: checking what the customer sees")
    page.get_by_role("button", name="Start support session").click()
    expect(page.get_by_role("heading", name="You are viewing Harbor Freight Co until")).to_be_visible()
    shots("console-support")
    page.get_by_role("button", name="Open the portal as support").click()
    expect(page.get_by_text("Rollcall support is viewing read-only until")).to_be_visible()
    page.goto(f"{live_server.url}/portal/activity/audit")
    expect(page.get_by_text("Rollcall support is viewing read-only until")).to_be_visible()
    expect(page.get_by_text("Rollcall support is viewing your portal from")).to_be_visible()
    shots("console-portal-readonly")
    page.emulate_media(color_scheme="dark")  # the banner and the pages use the theme's variables
    shots("console-portal-readonly-dark")
    page.goto(f"{live_server.url}/console/tenants/{tenant.slug}/webhooks/deliveries/{first.pk}")
    shots("console-delivery-detail-dark")
    page.emulate_media(color_scheme="light")

    # -- jobs: the export, finished, with its file
    page.goto(f"{live_server.url}/console/jobs")
    expect(page.get_by_role("link", name="Audit log export")).to_be_visible()
    expect(page.get_by_role("link", name="Bulk webhook replay")).to_be_visible()
    expect(page.get_by_role("link", name="Download")).to_be_visible()
    shots("console-jobs")
