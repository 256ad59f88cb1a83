"""Every console URL x {anonymous, tenant admin, operator without 2FA, support, admin}.

The expected role per URL and method is written out here, from the issue (support: read everything,
replay deliveries, issue setup links; admin: also tokens, tenants, operators, webhook endpoints, API
keys, parked events), not read from the views' own permission maps, so a view that grants too much or
too little fails here. A new console URL fails `test_the_matrix_lists_every_console_url` until it is
added below.
"""

from __future__ import annotations

import uuid

from django.test import Client
from django.urls import reverse

from portal import console_urls
from tests.console.pages_support import SignedInOperator
from tests.portal.support import make_admin, verified_client

SUPPORT, ADMIN = "support", "admin"
SIGN_IN_PAGES = {"login", "verify", "enrol", "logout"}
# (url name, method) -> the least role that may use it
MATRIX: dict[tuple[str, str], str] = {
    ("home", "GET"): SUPPORT,
    ("tenant-create", "GET"): ADMIN,
    ("tenant-create", "POST"): ADMIN,
    ("tenant", "GET"): SUPPORT,
    ("tenant-setup-link", "POST"): SUPPORT,
    ("tenant-status", "POST"): ADMIN,
    ("tenant-rollup-rebuild", "POST"): ADMIN,
    ("tenant-tokens", "GET"): SUPPORT,
    ("tenant-tokens", "POST"): ADMIN,
    ("operators", "GET"): ADMIN,
    ("operators", "POST"): ADMIN,
    ("tenant-requests", "GET"): SUPPORT,
    ("tenant-request", "GET"): SUPPORT,
    ("tenant-people", "GET"): SUPPORT,
    ("tenant-outbox", "GET"): SUPPORT,
    ("tenant-outbox", "POST"): ADMIN,
    ("tenant-webhooks", "GET"): SUPPORT,
    ("tenant-webhooks", "POST"): ADMIN,
    ("tenant-webhook-replay", "POST"): SUPPORT,
    ("tenant-delivery", "GET"): SUPPORT,
    ("tenant-delivery", "POST"): SUPPORT,
    ("tenant-webhook-endpoint", "POST"): ADMIN,
    ("tenant-apikeys", "GET"): SUPPORT,
    ("tenant-apikeys", "POST"): ADMIN,
    ("tenant-audit", "GET"): SUPPORT,
    ("tenant-audit", "POST"): SUPPORT,
    ("tenant-support", "GET"): SUPPORT,
    ("tenant-support", "POST"): SUPPORT,
    ("tenant-support-open", "POST"): SUPPORT,
    ("audit", "GET"): SUPPORT,
    ("audit", "POST"): SUPPORT,
    ("jobs", "GET"): SUPPORT,
    ("job", "GET"): SUPPORT,
    ("job-download", "GET"): SUPPORT,
}
CASES = sorted(MATRIX)


def _url(name: str, slug: str) -> str:
    """The URL with every argument filled: the tenant's slug, ids that exist nowhere (a 404 once allowed)."""
    pattern = next(p for p in console_urls.urlpatterns if p.name == name)
    kwargs: dict[str, object] = {}
    for key, converter in pattern.pattern.converters.items():
        kind = type(converter).__name__
        kwargs[key] = slug if key == "slug" else (uuid.UUID(int=7) if kind == "UUIDConverter" else 999_999)
    return reverse(f"console:{name}", kwargs=kwargs)


def _call(client: Client, method: str, url: str):  # type: ignore[no-untyped-def]
    return client.get(url) if method == "GET" else client.post(url, {})


def test_the_matrix_lists_every_console_url() -> None:
    names = {p.name for p in console_urls.urlpatterns} - SIGN_IN_PAGES
    assert names == {name for name, _ in MATRIX}


def _check_all(client: Client, slug: str, expect) -> None:  # type: ignore[no-untyped-def]
    """Call every (URL, method) with `client`; collect what `expect(name, method, url, response)` refuses."""
    wrong = []
    for name, method in CASES:
        url = _url(name, slug)
        response = _call(client, method, url)
        if not expect(name, method, url, response):
            wrong.append(f"{method} {url} ({name}): {response.status_code} {response.get('Location', '')}")
    assert wrong == []


def test_anonymous_visitors_are_sent_to_the_console_sign_in(tenant_a) -> None:  # type: ignore[no-untyped-def]
    _check_all(
        Client(),
        tenant_a.slug,
        lambda name, method, url, r: r.status_code == 302 and r["Location"].startswith("/console/login"),
    )


def test_a_verified_tenant_admin_is_refused_everywhere(tenant_a) -> None:  # type: ignore[no-untyped-def]
    admin = make_admin(tenant_a, "ada@alpha.example")
    _check_all(verified_client(admin.user, admin.device), tenant_a.slug, lambda name, method, url, r: r.status_code == 403)


def test_an_operator_without_the_second_factor_is_sent_to_verify(tenant_a, admin_operator: SignedInOperator) -> None:  # type: ignore[no-untyped-def]
    _check_all(
        admin_operator.password_only,
        tenant_a.slug,
        lambda name, method, url, r: r.status_code == 302 and r["Location"] == "/console/login/verify",
    )


def _allowed(status: int, method: str, url: str) -> bool:
    """Past the gate: a page, a redirect after an action, a field error, or a 404 for an id that exists nowhere."""
    has_object_id = str(uuid.UUID(int=7)) in url or "999999" in url
    if method == "GET":
        return status == 200 or (has_object_id and status == 404)
    return status in (200, 302, 400) or (has_object_id and status == 404)


def test_support_gets_what_the_role_holds_and_403_for_the_rest(tenant_a, support_operator: SignedInOperator) -> None:  # type: ignore[no-untyped-def]
    def expect(name: str, method: str, url: str, r) -> bool:  # type: ignore[no-untyped-def]
        if MATRIX[(name, method)] == ADMIN:
            return bool(r.status_code == 403)
        return _allowed(r.status_code, method, url)

    _check_all(support_operator.client, tenant_a.slug, expect)


def test_admin_gets_everything(tenant_a, admin_operator: SignedInOperator) -> None:  # type: ignore[no-untyped-def]
    _check_all(admin_operator.client, tenant_a.slug, lambda name, method, url, r: _allowed(r.status_code, method, url))


def test_an_unknown_tenant_is_a_404_for_an_admin(admin_operator: SignedInOperator) -> None:
    wrong = []
    for name, method in CASES:
        url = _url(name, "no-such-tenant")
        if "no-such-tenant" in url and (status := _call(admin_operator.client, method, url).status_code) != 404:
            wrong.append(f"{method} {url}: {status}")
    assert wrong == []
    assert sum("slug" in p.pattern.converters for p in console_urls.urlpatterns) >= 15  # the tenant pages were probed
