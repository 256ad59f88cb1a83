"""Wizard steps 1-4 over HTTP: state kept per connection, resumable, tenant-isolated, bounded queries."""

from __future__ import annotations

import re
import time

import pytest
from django_tenants.utils import schema_context

from scim_api import request_log
from tenants.models import ConnectionSetup, ScimConnection, ScimToken
from tests.portal.support import verified_client
from tests.support.queries import count_queries
from tests.support.scim_client import ScimClient

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def client_a(admin_a):  # type: ignore[no-untyped-def]
    return verified_client(admin_a.user, admin_a.device)


def _start(client, idp: str = "okta") -> str:  # type: ignore[no-untyped-def]
    response = client.post("/portal/setup/new", {"idp": idp})
    assert response.status_code == 302, response.content[:500]
    return ScimConnection.objects.order_by("-created_at").values_list("id", flat=True).first()  # type: ignore[return-value]


def _token(client, cid: str) -> str:  # type: ignore[no-untyped-def]
    client.post(f"/portal/connections/{cid}/setup/instructions")
    page = client.post(f"/portal/connections/{cid}/setup/credentials", {"action": "generate"}).content.decode()
    return re.search(r'id="new-token" aria-label="Your new token" type="text" value="(rcs_[^"]+)"', page).group(1)  # type: ignore[union-attr]


def _live(client, cid: str):  # type: ignore[no-untyped-def]
    client.post(f"/portal/connections/{cid}/setup/credentials", {"action": "pasted", "pasted": "on"})
    return client.get(f"/portal/connections/{cid}/setup/live", **HTMX)


def test_step_1_lists_all_eight_idps_with_a_line_each(client_a) -> None:  # type: ignore[no-untyped-def]
    page = client_a.get("/portal/setup/new").content.decode()
    for name in ("Okta", "Microsoft Entra ID", "Google Workspace", "OneLogin", "JumpCloud", "Ping Identity", "Rippling", "Generic SCIM 2.0"):
        assert name in page
    assert "Google has no SCIM for custom apps" in page
    assert page.count('type="radio" name="idp"') == 8


def test_a_fresh_tenant_lands_in_step_1_and_a_started_one_resumes(client_a) -> None:  # type: ignore[no-untyped-def]
    assert client_a.get("/portal/")["Location"] == "/portal/setup/new"
    cid = _start(client_a)
    client_a.post(f"/portal/connections/{cid}/setup/instructions")
    assert client_a.get("/portal/setup/")["Location"] == f"/portal/connections/{cid}/setup/credentials"
    assert client_a.get("/portal/").status_code == 200  # the overview, with the connection listed


def test_choosing_an_idp_creates_a_connection_without_a_token(client_a, tenant_a) -> None:  # type: ignore[no-untyped-def]
    cid = _start(client_a, "entra")
    setup = ConnectionSetup.objects.get(connection_id=cid)
    assert setup.tenant_id == tenant_a.pk and setup.connection.idp == "entra" and setup.step == "instructions"
    assert not ScimToken.objects.filter(connection_id=cid).exists()


def test_an_unknown_idp_is_a_field_error_and_creates_nothing(client_a) -> None:  # type: ignore[no-untyped-def]
    response = client_a.post("/portal/setup/new", {"idp": "myspace"})
    assert response.status_code == 400 and "Choose one of the identity providers" in response.content.decode()
    assert not ScimConnection.objects.exists()


def test_step_2_shows_the_idps_labels_copy_buttons_and_watch_out(client_a) -> None:  # type: ignore[no-untyped-def]
    cid = _start(client_a, "entra")
    page = client_a.get(f"/portal/connections/{cid}/setup/instructions").content.decode()
    assert "Tenant URL" in page and "?aadOptscim062020" in page and "Secret Token" in page
    assert "Watch out" in page and "Provision on demand" in page and "Only assigned people are sent" in page
    assert page.count("data-copy-target=") >= 2


def test_changing_the_idp_later_asks_for_confirmation(client_a) -> None:  # type: ignore[no-untyped-def]
    cid = _start(client_a, "okta")
    client_a.post(f"/portal/connections/{cid}/setup/instructions")
    ask = client_a.post(f"/portal/connections/{cid}/setup/idp", {"idp": "entra"})
    assert ask.status_code == 200 and "Switch to Microsoft Entra ID?" in ask.content.decode()
    assert ScimConnection.objects.get(pk=cid).idp == "okta"  # nothing changed yet
    done = client_a.post(f"/portal/connections/{cid}/setup/idp", {"idp": "entra", "confirm": "yes"})
    assert done["Location"] == f"/portal/connections/{cid}/setup/instructions"
    setup = ConnectionSetup.objects.select_related("connection").get(connection_id=cid)
    assert setup.connection.idp == "entra" and setup.step == "instructions" and setup.instructions_done_at is None


def test_steps_beyond_the_furthest_reached_redirect_back(client_a) -> None:  # type: ignore[no-untyped-def]
    cid = _start(client_a)
    assert client_a.get(f"/portal/connections/{cid}/setup/live")["Location"] == f"/portal/connections/{cid}/setup/instructions"
    assert client_a.post(f"/portal/connections/{cid}/setup/credentials", {"action": "generate"}).status_code == 302
    assert not ScimToken.objects.filter(connection_id=cid).exists()


def test_the_token_is_shown_once_and_only_its_hash_is_kept(client_a) -> None:  # type: ignore[no-untyped-def]
    cid = _start(client_a)
    token = _token(client_a, cid)
    stored = ScimToken.objects.get(connection_id=cid)
    assert token not in stored.digest and stored.prefix == token[:10]
    again = client_a.get(f"/portal/connections/{cid}/setup/credentials").content.decode()
    assert token not in again and f"{stored.prefix}…" in again


def test_next_needs_the_pasted_checkbox(client_a) -> None:  # type: ignore[no-untyped-def]
    cid = _start(client_a)
    _token(client_a, cid)
    response = client_a.post(f"/portal/connections/{cid}/setup/credentials", {"action": "pasted"})
    assert response.status_code == 400 and "Tick the box once the token is pasted into Authorization" in response.content.decode()
    assert ConnectionSetup.objects.get(connection_id=cid).token_pasted_at is None
    ok = client_a.post(f"/portal/connections/{cid}/setup/credentials", {"action": "pasted", "pasted": "on"})
    assert ok["Location"] == f"/portal/connections/{cid}/setup/live"


def test_regenerating_rotates_with_the_chosen_overlap(client_a) -> None:  # type: ignore[no-untyped-def]
    cid = _start(client_a)
    _token(client_a, cid)
    missing = client_a.post(f"/portal/connections/{cid}/setup/credentials", {"action": "generate"})
    assert missing.status_code == 400 and ScimToken.objects.filter(connection_id=cid).count() == 1
    client_a.post(f"/portal/connections/{cid}/setup/credentials", {"action": "generate", "overlap": "1h"})
    tokens = list(ScimToken.objects.filter(connection_id=cid).order_by("created_at"))
    assert len(tokens) == 2 and tokens[0].expires_at is not None and tokens[1].expires_at is None
    client_a.post(f"/portal/connections/{cid}/setup/credentials", {"action": "generate", "overlap": "0"})
    assert ScimToken.objects.filter(connection_id=cid, revoked_at__isnull=True).count() == 1


def test_live_check_waits_then_recognises_oktas_test_and_stops_after_the_first_user(client_a, tenant_a) -> None:  # type: ignore[no-untyped-def]
    cid = _start(client_a, "okta")
    token = _token(client_a, cid)
    waiting = _live(client_a, cid)
    assert waiting.status_code == 200 and "Waiting for Okta to connect" in waiting.content.decode()
    assert 'hx-trigger="every 2s"' in waiting.content.decode()
    okta = ScimClient(cid, token, tenant_a, user_agent="Okta SCIM Client 1.0.0")
    assert okta.get("/Users?startIndex=1&count=2").status == 200
    tested = client_a.get(f"/portal/connections/{cid}/setup/live", **HTMX).content.decode()
    assert "Okta's connection test succeeded" in tested and 'hx-trigger="every 2s"' in tested
    assert okta.create_user("jane@alpha.example", name={"givenName": "Jane", "familyName": "Doe"}).status == 201
    done = client_a.get(f"/portal/connections/{cid}/setup/live", **HTMX)
    assert done.status_code == 286 and "First user received" in done.content.decode()
    assert 'hx-trigger="every 2s"' not in done.content.decode()
    setup = ConnectionSetup.objects.get(connection_id=cid)
    assert setup.connection_test_at and setup.first_user_at and setup.step == "mapping"


def test_live_check_explains_failed_authentication_rows(client_a, tenant_a) -> None:  # type: ignore[no-untyped-def]
    cid = _start(client_a, "entra")
    _token(client_a, cid)
    with schema_context(tenant_a.schema_name):
        for failure, path in (("bearer_doubled", f"/scim/v2/{cid}/Users"), ("", f"/scim/v2/{cid}/Users/Users")):
            request_log.append(
                request_id="r", connection_id=cid, idp="entra", method="GET", path=path, query="", status=401 if failure else 404,
                latency_ms=1.0, user_agent="", source_ip="127.0.0.1", resource_type="", resource_id="", request_body=None,
                response_body=None, scim_type="", error_detail="", quirks=[], auth_failure=failure,
            )
    page = _live(client_a, cid).content.decode()
    assert "&quot;Bearer&quot; was sent twice" in page and 'Remove &quot;Bearer &quot; from Secret Token' in page
    assert "The base URL has /Users or /Groups at the end" in page


def test_after_two_quiet_minutes_the_idps_tips_appear(client_a) -> None:  # type: ignore[no-untyped-def]
    cid = _start(client_a, "entra")
    _token(client_a, cid)
    _live(client_a, cid)
    fresh = client_a.get(f"/portal/connections/{cid}/setup/live?since={int(time.time())}", **HTMX).content.decode()
    assert "Tips for Microsoft Entra ID" not in fresh
    quiet = client_a.get(f"/portal/connections/{cid}/setup/live?since={int(time.time()) - 130}", **HTMX)
    assert quiet.status_code == 200 and "Provision on demand" in quiet.content.decode()
    paused = client_a.get(f"/portal/connections/{cid}/setup/live?since={int(time.time()) - 16 * 60}", **HTMX)
    assert paused.status_code == 286 and "Live check paused" in paused.content.decode()


def test_an_expired_session_on_a_poll_redirects_the_whole_page(client_a) -> None:  # type: ignore[no-untyped-def]
    cid = _start(client_a)
    client_a.post("/portal/logout")
    response = client_a.get(f"/portal/connections/{cid}/setup/live", **HTMX)
    assert response["HX-Redirect"] == "/portal/login"


CONNECTION_URLS = ("idp", "instructions", "credentials", "live")


@pytest.mark.parametrize("step", CONNECTION_URLS)
def test_another_tenants_connection_is_a_404_on_every_step(step, client_a, admin_b) -> None:  # type: ignore[no-untyped-def]
    client_b = verified_client(admin_b.user, admin_b.device)
    cid_b = _start(client_b)
    assert client_a.get(f"/portal/connections/{cid_b}/setup/{step}").status_code == 404
    posted = client_a.post(f"/portal/connections/{cid_b}/setup/{step}", {"action": "generate", "idp": "okta"})
    assert posted.status_code == (405 if step == "live" else 404)
    assert not ScimToken.objects.filter(connection_id=cid_b).exists()
    assert ScimConnection.objects.get(pk=cid_b).idp == "okta"
    assert "Page not found" in client_a.get(f"/portal/connections/{cid_b}/setup/{step}").content.decode()


@pytest.mark.parametrize("step", CONNECTION_URLS)
def test_every_wizard_page_renders_in_a_bounded_number_of_queries(step, client_a, tenant_a) -> None:  # type: ignore[no-untyped-def]
    cid = _start(client_a, "okta")
    token = _token(client_a, cid)
    client_a.post(f"/portal/connections/{cid}/setup/credentials", {"action": "pasted", "pasted": "on"})
    okta = ScimClient(cid, token, tenant_a)
    for n in range(25):  # more rows than the panel shows
        okta.get(f"/Users?startIndex=1&count={n + 1}")
    with count_queries(at_most=16):
        assert client_a.get(f"/portal/connections/{cid}/setup/{step}").status_code == 200
