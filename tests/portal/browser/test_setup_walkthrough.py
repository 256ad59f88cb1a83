"""End to end in Debian's Chromium: setup link -> account -> TOTP -> wizard steps 1-4 with real SCIM
requests sent mid-test -> the live panel updates by itself -> attribute mapping with its preview and a
re-mapping job -> groups to roles with the seat preview -> the test-user checklist ticking as real
requests are applied by the worker -> the summary -> every workspace page; admins, sign-out, sign-in,
link errors; and the workspace empty and with more than 10,000 people.

Every step saves a 1280x800 screenshot to docs/screenshots/ (the README walkthrough shows them).
Elements are found by role and label, as a person (or a screen reader) finds them.
"""

from __future__ import annotations

import re
from datetime import timedelta

import httpx
import pytest
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context
from playwright.sync_api import Page, expect

from directory.change import ChangeContext
from directory.models import DirectoryUser
from directory.users import create_user
from outbox.append import Actor
from outbox.models import Event
from tenants.models import ConnectionSetup, SetupLink
from tenants.services import issue_setup_link
from tests.portal.support import PASSWORD, make_admin, totp_now
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


ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
NORTHWIND = "urn:ietf:params:scim:schemas:extension:northwind:2.0:User"
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _patch(base_url: str, token: str, path: str, *operations: dict) -> None:  # type: ignore[type-arg]
    response = _scim(base_url, token, "PATCH", path, json={"schemas": [PATCH], "Operations": list(operations)})
    assert response.status_code in (200, 204), response.text


def _person(user_name: str, given: str, family: str, **extra: object) -> dict:  # type: ignore[type-arg]
    return {
        "schemas": [CORE, ENTERPRISE],
        "userName": user_name,
        "name": {"givenName": given, "familyName": family},
        "emails": [{"value": user_name, "type": "work", "primary": True}],
        "active": True,
        **extra,
    }


def _steps_5_to_8_and_the_workspace(page: Page, live_server, base_url: str, token: str, jane: str, tenant, shots) -> None:  # type: ignore[no-untyped-def]
    # Two more people; Sam's profile has a division and a badge number in Northwind's own extension.
    sam = _scim(base_url, token, "POST", "/Users", json=_person(
        "sam.lee@northwind.example", "Sam", "Lee", title="Site reliability engineer",
        **{ENTERPRISE: {"department": "Engineering", "division": "Platform", "employeeNumber": "1042",
                        "manager": {"value": jane}},
           NORTHWIND: {"badgeNumber": "NW-0042"}},
    )).json()["id"]
    assert _scim(base_url, token, "POST", "/Users", json=_person(
        "li.wei@northwind.example", "Li", "Wei", title="Account executive", **{ENTERPRISE: {"department": "Sales"}},
    )).status_code == 201

    # -- step 5: attributes, with the paths Okta sent first and a live preview of the last users
    page.get_by_role("link", name="Next: map attributes").click()
    expect(page.get_by_role("heading", name="Map attributes")).to_be_visible()
    expect(page.get_by_role("heading", name="Preview")).to_be_visible()
    shots("22-wizard-attributes")
    page.get_by_label("Field name").fill("Division")
    page.get_by_label("Filled from", exact=True).select_option(label="division (enterprise)")
    page.get_by_role("button", name="Add field").click()
    expect(page.get_by_text("Division added")).to_be_visible()
    page.get_by_label("Cost center").select_option(label="employeeNumber (enterprise)")
    preview = page.locator("#mapping-preview")
    expect(preview.get_by_text("Platform", exact=True)).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    expect(preview.get_by_text("2 changes").first).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    preview.evaluate("e => e.scrollIntoView({block: 'start'})")
    shots("23-wizard-attributes-preview")
    page.evaluate("window.scrollTo(0, 0)")
    page.get_by_role("button", name="Save and continue").click()
    expect(page.get_by_role("progressbar", name="Re-mapping existing users: progress")).to_be_visible()
    expect(page.get_by_text(re.compile(r"Mapping saved: \d+ users? changed"))).to_be_visible(timeout=30_000)
    shots("24-wizard-attributes-saved")
    with schema_context(tenant.schema_name):
        assert DirectoryUser.objects.get(pk=sam).extra_fields["custom.division"] == "Platform"

    # -- step 6: groups pushed while the page is open appear by themselves; the seat preview follows
    page.get_by_role("link", name="Next: map roles").click()
    expect(page.get_by_role("heading", name="Map groups to roles")).to_be_visible()
    expect(page.get_by_text("No groups yet")).to_be_visible()
    shots("25-wizard-roles-waiting")
    for name, members in (("Engineering", [jane, sam]), ("Admins", [sam])):
        response = _scim(base_url, token, "POST", "/Groups", json={
            "schemas": [GROUP], "displayName": name, "members": [{"value": m} for m in members],
        })
        assert response.status_code == 201
    expect(page.get_by_label("Engineering")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    page.get_by_label("Engineering").select_option(label="Editor")
    page.get_by_label("Admins").select_option(label="Admin")
    page.get_by_label("Everyone in no mapped group").select_option(label="Viewer")
    expect(page.get_by_text(
        "With these mappings: 1 admin and 1 editor billed, 1 viewer free; +2 billed seats compared with now."
    )).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    shots("26-wizard-roles-seat-preview")
    page.get_by_role("button", name="Save and continue").click()

    # -- step 7: the checklist follows Jane as Okta's requests arrive and the worker applies them
    expect(page.get_by_role("heading", name="Verify with a test user")).to_be_visible()
    expect(page.get_by_text("Following Jane Doe")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    # Created, and already in a group: Engineering was pushed with her in it.
    expect(page.get_by_text("2 of 6 done")).to_be_visible(timeout=LIVE_TIMEOUT_MS)
    shots("27-wizard-verify-started")
    _patch(base_url, token, f"/Users/{jane}", {"op": "replace", "path": "title", "value": "Engineering manager"})
    testers = _scim(base_url, token, "POST", "/Groups", json={
        "schemas": [GROUP], "displayName": "Verification testers", "members": [{"value": jane}],
    }).json()["id"]
    _patch(base_url, token, f"/Groups/{testers}", {"op": "remove", "path": f'members[value eq "{jane}"]'})
    _patch(base_url, token, f"/Users/{jane}", {"op": "replace", "path": "active", "value": False})
    expect(page.get_by_text(re.compile(r"Access removed \d+\.\d s after the request"))).to_be_visible(timeout=30_000)
    expect(page.get_by_text("5 of 6 done")).to_be_visible(timeout=30_000)
    shots("28-wizard-verify-progress")
    _patch(base_url, token, f"/Users/{jane}", {"op": "replace", "path": "active", "value": True})
    expect(page.get_by_role("heading", name="Verified: the whole life cycle works")).to_be_visible(timeout=30_000)
    shots("29-wizard-verify-done")

    # -- step 8: the summary; the setup link is completed
    page.get_by_role("button", name="Next: summary").click()
    expect(page.get_by_role("heading", name="Okta is set up")).to_be_visible()
    shots("30-wizard-done")
    assert SetupLink.objects.get(tenant=tenant, used_at__isnull=False).status == SetupLink.Status.COMPLETED

    # -- the workspace
    page.get_by_role("link", name="Go to the overview").click()
    expect(page.get_by_role("heading", name="Overview")).to_be_visible()
    expect(page.get_by_role("heading", name="Connection health")).to_be_visible()
    shots("12-overview")
    main = page.get_by_role("navigation", name="Main")

    main.get_by_role("link", name="Connections").click()
    expect(page.get_by_role("heading", name="Connections")).to_be_visible()
    shots("31-connections")
    page.get_by_role("link", name="Okta", exact=True).click()
    expect(page.get_by_role("heading", name="Tokens")).to_be_visible()
    shots("32-connection-detail")
    page.get_by_label("Keep the current token working").select_option(label="For 1 hour")
    page.get_by_role("button", name="Rotate: generate a new token").click()
    expect(page.get_by_role("textbox", name="Your new token", exact=True)).to_be_visible()
    expect(page.get_by_text("2 working tokens")).to_be_visible()
    shots("33-connection-token-rotated")
    page.get_by_role("link", name="Delete…").click()
    expect(page.get_by_role("heading", name="Delete Okta?")).to_be_visible()
    page.get_by_role("radio", name=re.compile("^Keep them as they are")).check()
    shots("34-connection-delete")
    page.get_by_role("link", name="Cancel").click()

    main.get_by_role("link", name="Directory").click()
    expect(page.get_by_text("3 people")).to_be_visible()
    shots("35-directory-people")
    page.get_by_label("Role").select_option(label="Editor")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("1 person matches")).to_be_visible()
    shots("36-directory-filtered")
    page.get_by_role("navigation", name="Directory").get_by_role("link", name="Groups").click()
    expect(page.get_by_role("link", name="Engineering")).to_be_visible()
    shots("37-directory-groups")
    page.get_by_role("navigation", name="Directory").get_by_role("link", name="People").click()
    page.get_by_role("link", name="Sam Lee").click()
    expect(page.get_by_role("heading", name="Lifecycle")).to_be_visible()
    expect(page.get_by_text("From Admins")).to_be_visible()
    shots("38-directory-user")

    main.get_by_role("link", name="Mappings").click()
    expect(page.get_by_role("heading", name="Mappings")).to_be_visible()
    shots("39-mappings-attributes")
    page.get_by_role("navigation", name="Mappings").get_by_role("link", name="Roles").click()
    expect(page.get_by_role("heading", name="Seat preview")).to_be_visible()
    shots("40-mappings-roles")

    main.get_by_role("link", name="Activity").click()
    expect(page.get_by_role("heading", name="Activity")).to_be_visible()
    shots("41-activity-requests")
    page.get_by_role("link", name=re.compile(r"\d+ \w+, \d\d:\d\d:\d\d")).first.click()
    expect(page.get_by_role("heading", name="Events it produced")).to_be_visible()
    shots("42-activity-request")
    page.get_by_role("link", name="Activity", exact=True).first.click()
    page.get_by_role("navigation", name="Activity").get_by_role("link", name="Admin changes").click()
    expect(page.get_by_text("Changed the attribute mapping")).to_be_visible()
    page.get_by_text("Export to CSV").click()
    page.get_by_role("button", name="Start export").click()
    expect(page.get_by_role("link", name="Download the CSV file")).to_be_visible(timeout=30_000)
    shots("43-activity-audit-export")
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the CSV file").click()
    exported = download_info.value.path().read_text()
    assert "attribute_mapping.changed" in exported and token not in exported

    page.get_by_role("link", name=re.compile("^Notifications")).click()
    expect(page.get_by_role("heading", name="Notifications", exact=True)).to_be_visible()
    shots("44-notifications")


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

    jane = created.json()["id"]
    _steps_5_to_8_and_the_workspace(page, live_server, base_url, token, jane, tenant, shots)
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


SCALE = 10_050  # more than the directory's count cap (10,000): the list must say so and page on


def _sign_in(page: Page, live_server, email: str, device) -> None:  # type: ignore[no-untyped-def]
    page.goto(f"{live_server.url}/portal/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Authentication code").fill(totp_now(device, steps_ahead=1))  # enrolment used the current one
    page.get_by_role("button", name="Verify").click()


def test_the_workspace_reads_well_empty_and_with_more_than_ten_thousand_people(page: Page, live_server, shots) -> None:  # type: ignore[no-untyped-def]
    tenant = ensure_tenant("contoso", "Contoso")
    admin = make_admin(tenant, "kim@contoso.example")
    _sign_in(page, live_server, admin.email, admin.device)
    expect(page.get_by_role("heading", name="Which identity provider do you use?")).to_be_visible()

    page.goto(f"{live_server.url}/portal/directory")
    expect(page.get_by_text("No one here yet")).to_be_visible()
    shots("45-directory-empty")
    page.goto(f"{live_server.url}/portal/activity")
    expect(page.get_by_text("No requests yet")).to_be_visible()
    shots("46-activity-empty")

    # Created through the directory service, as a SCIM POST would (one transaction, to keep it quick).
    ctx = ChangeContext(actor=Actor(kind="scim", id="bulk-seed"), idp="okta")
    with schema_context(tenant.schema_name), transaction.atomic():
        for n in range(SCALE):
            create_user(
                resource={
                    "userName": f"person{n:05d}@contoso.example",
                    "name": {"givenName": "Person", "familyName": f"{n:05d}"},
                    "displayName": f"Person {n:05d}",
                    "emails": [{"value": f"person{n:05d}@contoso.example", "type": "work", "primary": True}],
                    "title": "Analyst",
                    ENTERPRISE: {"department": ("Finance", "Sales", "Engineering")[n % 3]},
                },
                ctx=ctx,
            )
    page.goto(f"{live_server.url}/portal/directory")
    expect(page.get_by_text("More than 10,000 people")).to_be_visible()
    expect(page.get_by_role("link", name="Person 10049")).to_be_visible()  # newest first
    shots("47-directory-10000-people")
    page.get_by_role("link", name="Next page").click()
    expect(page.get_by_role("link", name="Person 09999")).to_be_visible()
    page.get_by_label("Search").fill("person0004")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_text("10 people match")).to_be_visible()
