"""The CLI contract: names, JSON keys, and clear non-zero errors that change nothing."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tenants.db import tenant_connection
from tenants.models import ApiKey, ScimConnection, ScimToken, Tenant
from tenants.secrets import digest

pytestmark = pytest.mark.django_db


def run(*args: str) -> dict:
    out = StringIO()
    call_command(*args, stdout=out)
    return json.loads(out.getvalue())


def _schemas() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace")
        return {row[0] for row in cursor.fetchall()}


def test_tenant_create_prints_contract_json_and_clones_a_schema():
    result = run("rollcall_tenant", "create", "--name", "Acme", "--slug", "acme-cli", "--json")
    assert set(result) == {"tenant_id", "slug", "setup_url"}
    assert result["slug"] == "acme-cli"
    assert "/setup/" in result["setup_url"]
    tenant = Tenant.objects.get(slug="acme-cli")
    assert str(tenant.id) == result["tenant_id"]
    assert tenant.schema_name in _schemas()
    tenant_connection().set_tenant(tenant)
    from directory.models import Role

    assert set(Role.objects.values_list("key", flat=True)) == {"viewer", "editor", "admin"}


def test_duplicate_slug_fails_and_changes_nothing():
    run("rollcall_tenant", "create", "--name", "One", "--slug", "dup-slug", "--json")
    before = (Tenant.objects.count(), _schemas())
    with pytest.raises(CommandError, match="already exists"):
        call_command("rollcall_tenant", "create", "--name", "Two", "--slug", "dup-slug", "--json")
    assert (Tenant.objects.count(), _schemas()) == before


@pytest.mark.parametrize("slug", ["A", "UPPER", "-dash", "x", "has space", "public"])
def test_invalid_slugs_are_refused(slug):
    with pytest.raises(CommandError, match="invalid slug"):
        call_command("rollcall_tenant", "create", "--name", "Bad", f"--slug={slug}")
    assert not Tenant.objects.filter(slug=slug).exists()


def test_connection_create_prints_url_and_token_stored_hashed(tenant_a):
    result = run("rollcall_connection", "create", "--tenant", tenant_a.slug, "--idp", "okta", "--json")
    assert {"connection_id", "scim_base_url", "token"} <= set(result)
    assert result["scim_base_url"] == f"http://127.0.0.1:8000/scim/v2/{result['connection_id']}"
    token = ScimToken.objects.get(connection_id=result["connection_id"])
    assert token.digest == digest(result["token"])
    assert result["token"] not in {token.digest, token.prefix}


def test_idp_aliases_are_accepted(tenant_a):
    result = run("rollcall_connection", "create", "--tenant", tenant_a.slug, "--idp", "Azure", "--json")
    assert ScimConnection.objects.get(id=result["connection_id"]).idp == "entra"


def test_unknown_idp_and_unknown_tenant_fail_cleanly(tenant_a):
    with pytest.raises(CommandError, match="unknown IdP"):
        call_command("rollcall_connection", "create", "--tenant", tenant_a.slug, "--idp", "myspace")
    with pytest.raises(CommandError, match="unknown tenant"):
        call_command("rollcall_connection", "create", "--tenant", "nope", "--idp", "okta")
    assert ScimConnection.objects.count() == 0


def test_rotate_and_revoke_tokens(tenant_a):
    created = run("rollcall_connection", "create", "--tenant", tenant_a.slug, "--idp", "generic", "--json")
    rotated = run("rollcall_connection", "rotate-token", "--connection", created["connection_id"], "--json")
    assert rotated["token"] != created["token"]
    tokens = ScimToken.objects.filter(connection_id=created["connection_id"])
    assert tokens.count() == 2
    assert tokens.filter(expires_at__isnull=False).count() == 1  # the old one, for the overlap window
    revoked = run("rollcall_connection", "revoke-token", "--connection", created["connection_id"], "--json")
    assert revoked["revoked"] == 2
    with pytest.raises(CommandError, match="unknown connection"):
        call_command("rollcall_connection", "revoke-token", "--connection", "nope")


def test_apikey_create(tenant_a):
    result = run("rollcall_apikey", "create", "--tenant", tenant_a.slug, "--json")
    assert result["api_key"].startswith("rck_")
    key = ApiKey.objects.get()
    assert key.digest == digest(result["api_key"])
    with pytest.raises(CommandError):
        call_command("rollcall_apikey", "create", "--tenant", "nope")
