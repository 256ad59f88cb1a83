"""End to end in Debian's Chromium: setup link -> account -> TOTP -> wizard steps 1-4 with real SCIM
requests sent mid-test -> the live panel updates by itself; admins, sign-out, sign-in, link errors.

Every step saves a 1280x800 screenshot to docs/screenshots/ (the README walkthrough shows them).
Elements are found by role and label, as a person (or a screen reader) finds them.
"""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from django.utils import timezone
from django_tenants.utils import schema_context
from playwright.sync_api import Page, expect

from outbox.models import Event
from tenants.models import ConnectionSetup, SetupLink
from tenants.services import issue_setup_link
from tests.portal.support import PASSWORD, totp_now
from tests.provisioning.infra import wait_for
from tests.support.actors import TEST_ACTOR
from tests.support.tenants import ensure_tenant

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.integration]
EMAIL = "ines@northwind.example"
OKTA_UA = "Okta SCIM Client 1.0.0"
LIVE_TIMEOUT_MS = 15_000  # the panel polls every 2 s; a few polls at most


def _scim(base_url: str, token: str, method: str, path: str, **kwargs):  # type: ignore[no-untyped-def]
    headers = {"Authorization": f"Bearer {token}", "User-Agent": OKTA_UA, "Content-Type": "application/scim+json"}
    return httpx.request(method, base_url + path, headers=headers, timeout=10, **kwargs)


def test_an_it_admin_goes_from_the_setup_link_to_a_live_okta_connection(page: Page, live_server, worker, shots) -> None:  # type: ignore[no-untyped-def]
    tenant = ensure_tenant("northwind", "Northwind Traders")
    setup_url = issue_setup_link(tenant=tenant, actor=TEST_ACTOR)

    # -- the setup link: who it is for, what is needed, the account form
    page.goto(setup_url)
    expect(page.get_by_role("heading", name="Set up user provisioning for Northwind Traders")).to_be_visible()
    expect(page.get_by_text("Admin rights in your identity provider and about 10 minutes")).to_be_visible()
    shots("01-setup-landing")
    page.get_by_label("Work email").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill("short")
    page.get_by_label("Password again").fill("short")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("This password is too short")).to_be_visible()
    shots("02-setup-account-error")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Create account").click()

    # -- TOTP enrolment before anything else: QR code plus the key as text; the code is computed here
    expect(page.get_by_role("heading", name="Set up your authenticator app")).to_be_visible()
    expect(page.get_by_role("img", name="QR code for your authenticator app")).to_be_visible()
    shots("03-enrol-totp")
    key = page.get_by_role("textbox", name="Setup key", exact=True).input_value()
    page.get_by_label("6-digit code").fill(totp_now(key))
    page.get_by_role("button", name="Confirm and continue").click()

    # -- ten recovery codes, once, with a .txt download
    expect(page.get_by_role("heading", name="Save your recovery codes")).to_be_visible()
    codes = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    expect(codes).to_have_count(10)
    shots("04-recovery-codes")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download .txt").click()
    download = download_info.value
    assert download.suggested_filename == "rollcall-recovery-codes.txt"
    saved = download.path().read_text()
    assert codes.first.inner_text().split()[-1] in saved and saved.count("\n") >= 12
    page.get_by_role("link", name="I saved them, continue").click()
    assert SetupLink.objects.get(tenant=tenant, used_at__isnull=False).status == SetupLink.Status.ENROLLED

    # -- step 1: choose the IdP
    expect(page.get_by_role("heading", name="Which identity provider do you use?")).to_be_visible()
    expect(page.get_by_role("navigation", name="Setup progress")).to_be_visible()
    shots("05-wizard-choose-idp")
    page.get_by_role("radio", name=re.compile(r"^Okta")).check()
    page.get_by_role("button", name="Continue").click()

    # -- step 2: Okta's own steps, field labels and copy buttons, one watch-out note
    expect(page.get_by_role("heading", name="Set up the app in Okta")).to_be_visible()
    expect(page.get_by_text("Watch out")).to_be_visible()
    expect(page.get_by_role("button", name="Copy SCIM connector base URL")).to_be_visible()
    shots("06-wizard-okta-steps")
    page.get_by_role("button", name="Next: credentials").click()

    # -- step 3: the URL as Okta wants it, a token shown once, "I have pasted it"
    expect(page.get_by_role("heading", name="Paste the URL and token into Okta")).to_be_visible()
    shots("07-wizard-credentials")
    page.get_by_role("button", name="Generate token").click()
    token = page.get_by_role("textbox", name="Your new token", exact=True).input_value()
    base_url = page.get_by_role("textbox", name="SCIM connector base URL", exact=True).input_value()
    assert token.startswith("rcs_") and base_url == f"{live_server.url}/scim/v2/{ConnectionSetup.objects.get().connection_id}"
    next_button = page.get_by_role("button", name="Next: live check")
    expect(next_button).to_be_disabled()
    page.get_by_role("button", name="Copy Your new token").click()
    expect(page.get_by_role("button", name="Copy Your new token")).to_have_text("Copied")
    shots("08-wizard-token-shown-once")
    page.get_by_label("I have pasted it into Authorization").check()
    next_button.click()

    # -- step 4: waiting; then real SCIM requests arrive and the panel updates by itself
    expect(page.get_by_role("heading", name="Waiting for Okta to connect…")).to_be_visible()
    shots("09-live-check-waiting")
    assert _scim(base_url, token, "GET", "/Users/Users").status_code == 404  # a mistaken base URL
    expect(page.get_by_text("The base URL has /Users or /Groups at the end")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    assert _scim(base_url, token, "GET", "/Users?startIndex=1&count=2").status_code == 200  # Okta's test
    expect(page.get_by_text("Okta's connection test succeeded").first).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    expect(page.get_by_role("heading", name="Connected: waiting for the first user")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    shots("10-live-check-connection-test")
    created = _scim(
        base_url,
        token,
        "POST",
        "/Users",
        json={
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "userName": "jane.doe@northwind.example",
            "name": {"givenName": "Jane", "familyName": "Doe"},
            "emails": [{"value": "jane.doe@northwind.example", "type": "work", "primary": True}],
            "active": True,
        },
    )
    assert created.status_code == 201
    expect(page.get_by_role("heading", name="Okta is sending users")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    expect(page.get_by_text("First user received")).to_be_visible()
    shots("11-live-check-passed")

    # The worker handled the user's outbox event (a real Celery process, not this one).
    with schema_context(tenant.schema_name):
        wait_for(
            lambda: Event.objects.filter(type="user.created", handled_at__isnull=False).exists(),
            timeout=30,
            what="the worker to handle user.created",
        )
    setup = ConnectionSetup.objects.get()
    assert setup.connection_test_at and setup.first_user_at

    # -- the overview and the admins page
    page.get_by_role("link", name="Go to the overview").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_text("Receiving users")).to_be_visible()
    shots("12-overview")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Admins").click()
    page.get_by_label("Email of the new admin").fill("sam@northwind.example")
    page.get_by_role("button", name="Create invite link").click()
    expect(page.get_by_role("textbox", name="Invite link for sam@northwind.example", exact=True)).to_be_visible()
    shots("13-admins-invite")

    # -- sign out, sign in with password then TOTP
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_text("You are signed out.")).to_be_visible()
    page.get_by_label("Email").fill(EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    shots("14-sign-in")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", name="Confirm it's you")).to_be_visible()
    page.get_by_label("Authentication code").fill("000000")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_text("That code did not match")).to_be_visible()
    shots("15-sign-in-code-error")
    page.get_by_label("Authentication code").fill(totp_now(key, steps_ahead=1))
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()

    # -- the setup link is spent; an expired one says what to do next
    page.goto(setup_url)
    expect(page.get_by_role("heading", name="This link was already used")).to_be_visible()
    shots("16-setup-link-used")
    expired = issue_setup_link(tenant=tenant, actor=TEST_ACTOR)
    SetupLink.objects.filter(tenant=tenant, used_at__isnull=True, revoked_at__isnull=True).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    page.goto(expired)
    expect(page.get_by_role("heading", name="This setup link has expired")).to_be_visible()
    shots("17-setup-link-expired")
    page.goto(f"{live_server.url}/portal/connections/not-a-connection/setup/live")
    expect(page.get_by_role("heading", name="Page not found")).to_be_visible()
    shots("18-not-found")

    # -- dark mode follows the system setting
    page.emulate_media(color_scheme="dark")
    page.goto(f"{live_server.url}/portal/connections/{setup.connection_id}/setup/live")
    expect(page.get_by_role("heading", name="Okta is sending users")).to_be_visible()
    shots("19-live-check-dark")
    page.goto(f"{live_server.url}/portal/connections/{setup.connection_id}/setup/instructions")
    shots("20-okta-steps-dark")
    page.emulate_media(color_scheme="light")

    # -- the operator console's sign-in (same flow, operator accounts)
    page.get_by_role("button", name="Sign out").click()
    page.goto(f"{live_server.url}/console/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    expect(page.get_by_text("Operator accounts only")).to_be_visible()
    shots("21-console-sign-in")
