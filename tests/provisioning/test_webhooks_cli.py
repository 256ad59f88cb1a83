"""`rollcall_webhooks list` and `deliveries`: readable text, stable JSON, the ids replay takes."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from django.core.management import call_command

from provisioning.webhooks import endpoints
from tenants.context import tenant_schema
from tests.provisioning.support import drain, make_user

pytestmark = pytest.mark.django_db


def _call(*args: str) -> str:
    out = StringIO()
    call_command("rollcall_webhooks", *args, stdout=out)
    return out.getvalue()


def test_list_prints_a_table_and_deliveries_show_the_ids_replay_takes(acme, bravo):
    with tenant_schema(acme):
        endpoint = endpoints.create_endpoint(url="https://hooks.example.com/a").endpoint
        make_user("ada@acme.test")
    drain(acme)
    listed = _call("list", "--tenant", acme.slug)
    assert listed.splitlines()[0].startswith("ID") and "https://hooks.example.com/a" in listed
    assert "{'" not in listed and "[{" not in listed  # not a Python repr

    rows = json.loads(_call("deliveries", "--tenant", acme.slug, "--json"))["deliveries"]
    assert rows and all(r["endpoint_id"] == str(endpoint.id) for r in rows)
    assert {"delivery_id", "event_seq", "event_type", "status", "attempts"} <= set(rows[0])
    seqs = [r["event_seq"] for r in rows]
    assert seqs == sorted(seqs, reverse=True)
    assert json.loads(_call("deliveries", "--tenant", bravo.slug, "--json")) == {"deliveries": []}  # the other tenant's
    assert "(no deliveries)" in _call("deliveries", "--tenant", acme.slug, "--status", "dead")

    replayed = json.loads(_call("replay", "--tenant", acme.slug, "--delivery", str(rows[0]["delivery_id"]), "--json"))
    assert replayed == {"replayed": 1, "delivery_id": rows[0]["delivery_id"]}
