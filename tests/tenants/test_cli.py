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


def test_connection_create_prints_url_and_token_stored_hashed(tenant_a, settings):
    result = run("rollcall_connection", "create", "--tenant", tenant_a.slug, "--idp", "okta", "--json")
    assert {"connection_id", "scim_base_url", "token"} <= set(result)
    # The public base URL: ROLLCALL_PUBLIC_URL, else the running `make run` of the data directory, else PORT.
    assert result["scim_base_url"] == f"{settings.PUBLIC_BASE_URL}/scim/v2/{result['connection_id']}"
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


def text(*args: str) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_tenant_list_shows_every_tenant_as_json_and_as_a_table(tenant_a, tenant_b):
    result = run("rollcall_tenant", "list", "--json")
    slugs = [t["slug"] for t in result["tenants"]]
    assert {tenant_a.slug, tenant_b.slug} <= set(slugs) and slugs == sorted(slugs)
    assert set(result["tenants"][0]) == {"tenant_id", "slug", "name", "status", "schema_name", "connections", "created_at"}
    table = text("rollcall_tenant", "list")
    assert table.splitlines()[0].split()[:3] == ["TENANT_ID", "SLUG", "NAME"]
    assert tenant_a.slug in table and "{" not in table


def test_connection_list_counts_only_usable_tokens(tenant_a, tenant_b):
    created = run("rollcall_connection", "create", "--tenant", tenant_a.slug, "--idp", "okta", "--json")
    run("rollcall_connection", "create", "--tenant", tenant_b.slug, "--idp", "entra", "--json")
    run("rollcall_connection", "rotate-token", "--connection", created["connection_id"], "--overlap-hours", "0", "--json")
    rows = run("rollcall_connection", "list", "--tenant", tenant_a.slug, "--json")["connections"]
    assert [(r["connection_id"], r["idp"], r["active_tokens"]) for r in rows] == [(created["connection_id"], "okta", 1)]
    assert len(run("rollcall_connection", "list", "--json")["connections"]) == 2


def test_revoke_token_counts_only_tokens_that_still_worked(tenant_a):
    created = run("rollcall_connection", "create", "--tenant", tenant_a.slug, "--idp", "generic", "--json")
    run("rollcall_connection", "rotate-token", "--connection", created["connection_id"], "--overlap-hours", "0", "--json")
    assert ScimToken.objects.filter(connection_id=created["connection_id"], revoked_at__isnull=True).count() == 2
    assert run("rollcall_connection", "revoke-token", "--connection", created["connection_id"], "--json")["revoked"] == 1
    assert not ScimToken.objects.filter(connection_id=created["connection_id"], revoked_at__isnull=True).exists()
    assert run("rollcall_connection", "revoke-token", "--connection", created["connection_id"], "--json")["revoked"] == 0


def test_apikey_list_and_revoke(tenant_a, tenant_b):
    key = run("rollcall_apikey", "create", "--tenant", tenant_a.slug, "--label", "billing", "--json")["api_key"]
    key_id = key.split("_")[1]
    listed = run("rollcall_apikey", "list", "--tenant", tenant_a.slug, "--json")["api_keys"]
    assert [(k["key_id"], k["label"], k["revoked_at"]) for k in listed] == [(key_id, "billing", None)]
    assert key not in json.dumps(listed)
    with pytest.raises(CommandError, match="has no API key"):
        call_command("rollcall_apikey", "revoke", "--tenant", tenant_b.slug, "--key-id", key_id)  # another tenant's
    assert run("rollcall_apikey", "revoke", "--tenant", tenant_a.slug, "--key-id", key_id, "--json") == {"key_id": key_id, "revoked": True}
    assert ApiKey.objects.get(key_id=key_id).revoked_at is not None
    assert run("rollcall_apikey", "revoke", "--tenant", tenant_a.slug, "--key-id", key_id, "--json")["revoked"] is False


@pytest.mark.parametrize(
    "command",
    ["rollcall_tenant", "rollcall_connection", "rollcall_apikey", "rollcall_webhooks", "rollcall_operator", "rollcall_run"],
)
def test_every_subcommand_has_help(command):
    from django.core.management import get_commands, load_command_class

    parser = load_command_class(get_commands()[command], command).create_parser("manage.py", command)
    import argparse

    subparsers = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    for action in subparsers:
        helps = {choice.dest: choice.help for choice in action._choices_actions}
        assert helps and all(helps.values()), helps
        for name, sub in action.choices.items():
            for arg in sub._actions:
                if arg.dest != "help":
                    assert arg.help or arg.dest in {"email", "description", "tenant", "json"}, (name, arg.dest)


def _password_works(username: str, password: str) -> bool:
    from tenants.models import Operator

    return Operator.objects.get(user__username=username).user.check_password(password)


def test_operator_create_bootstrap_and_lost_password(tmp_path):
    created = run("rollcall_operator", "create", "--username", "ops-admin", "--json")
    assert created["created"] is True and len(created["password"]) >= 16
    assert _password_works("ops-admin", created["password"])
    again = run("rollcall_operator", "create", "--username", "ops-admin", "--if-missing", "--json")
    assert again == {"username": "ops-admin", "created": False}  # idempotent, password untouched
    with pytest.raises(CommandError, match="already exists"):
        call_command("rollcall_operator", "create", "--username", "ops-admin")

    secret = tmp_path / "pw"
    secret.write_text("short\n")
    with pytest.raises(CommandError, match="password refused"):
        call_command("rollcall_operator", "set-password", "--username", "ops-admin", "--password-file", str(secret))
    secret.write_text("a-long-enough-password-from-a-file\n")
    reset = run("rollcall_operator", "set-password", "--username", "ops-admin", "--password-file", str(secret), "--json")
    assert "password" not in reset  # never echoed when the operator chose it
    assert _password_works("ops-admin", "a-long-enough-password-from-a-file")
    assert not _password_works("ops-admin", created["password"])
    with pytest.raises(CommandError, match="unknown operator"):
        call_command("rollcall_operator", "set-password", "--username", "nobody")
    assert [(o["username"], o["role"]) for o in run("rollcall_operator", "list", "--json")["operators"]] == [
        ("ops-admin", "admin")
    ]


def test_operator_password_reset_can_remove_lost_2fa_devices():
    from django_otp.plugins.otp_totp.models import TOTPDevice

    from tenants.models import Operator

    run("rollcall_operator", "create", "--username", "lost-phone", "--role", "support", "--json")
    user = Operator.objects.get(user__username="lost-phone", role="support").user
    TOTPDevice.objects.create(user=user, name="phone")
    run("rollcall_operator", "set-password", "--username", "lost-phone", "--json")
    assert TOTPDevice.objects.filter(user=user).exists()  # only on request
    run("rollcall_operator", "set-password", "--username", "lost-phone", "--reset-2fa", "--json")
    assert not TOTPDevice.objects.filter(user=user).exists()


def test_the_cli_prints_urls_of_the_running_instance_not_of_its_own_port(tenant_a, tmp_path, settings):
    """What `make run` records under the data directory wins over the CLI shell's PORT."""
    import subprocess
    import sys

    from config.instance import InstanceLock
    from tests.support.processes import ROOT

    data = tmp_path / "data"
    lock = InstanceLock(data)
    lock.claim()
    lock.publish(port=18700, public_url="http://127.0.0.1:18700")
    try:
        code = (
            "import django; django.setup(); from django.conf import settings; print(settings.PUBLIC_BASE_URL)"
        )
        import os

        env = {k: v for k, v in os.environ.items() if k != "ROLLCALL_PUBLIC_URL"}
        env.update(ROLLCALL_DATA_DIR=str(data), PORT="8000", DJANGO_SETTINGS_MODULE="config.settings")
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert out.stdout.strip() == "http://127.0.0.1:18700", out.stderr
        env["ROLLCALL_PUBLIC_URL"] = "https://scim.example.com"
        out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
        assert out.stdout.strip() == "https://scim.example.com"
    finally:
        lock.release()
    env.pop("ROLLCALL_PUBLIC_URL")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True, timeout=60)
    assert out.stdout.strip() == "http://127.0.0.1:8000"  # the record of a stopped instance is ignored


@pytest.mark.django_db(transaction=True)
def test_the_rollcall_wrapper_runs_commands_without_an_activated_venv(tenant_a):
    import os
    import subprocess

    from config.database import libpq_url
    from tests.support.processes import ROOT

    env = {k: v for k, v in os.environ.items() if k not in {"VIRTUAL_ENV"}}
    env["PATH"] = "/usr/bin:/bin"  # no .venv/bin on PATH
    env["DATABASE_URL"] = libpq_url(connection.settings_dict)
    done = subprocess.run([str(ROOT / "rollcall"), "tenant", "list", "--json"], cwd="/", env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    assert tenant_a.slug in [t["slug"] for t in json.loads(done.stdout)["tenants"]]
    assert done.stderr == ""
