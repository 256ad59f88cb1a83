"""The audit log: registered types, written with the action, append-only in the database, streamed exports."""

from __future__ import annotations

import csv
import io
import json
import tracemalloc
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from tenants import services
from tenants.audit import (
    AuditActor,
    AuditEventType,
    AuditWindow,
    ExportFormat,
    UnknownAuditEventType,
    audit_events,
    record_audit,
    stream_audit_export,
)
from tenants.context import TenantRef
from tenants.models import AuditEvent, ScimConnection, Tenant
from tests.support.actors import OPERATOR, TEST_ACTOR
from tests.support.queries import count_queries

pytestmark = pytest.mark.django_db


def types_of(tenant: Tenant) -> list[str]:
    return list(AuditEvent.objects.filter(tenant_id=tenant.pk).order_by("id").values_list("type", flat=True))


def test_an_unknown_type_fails_and_nothing_is_written(tenant_a):
    before = AuditEvent.objects.count()
    with pytest.raises(UnknownAuditEventType, match="register it"), transaction.atomic():
        record_audit(actor=OPERATOR, type="tenant.renamed", tenant=tenant_a)
    assert AuditEvent.objects.count() == before


@pytest.mark.django_db(transaction=True)
def test_a_row_is_only_written_inside_the_actions_transaction():
    with pytest.raises(RuntimeError, match="inside the transaction"):
        record_audit(actor=OPERATOR, type=AuditEventType.TENANT_SUSPENDED)
    assert not AuditEvent.objects.exists()


def test_the_row_records_who_role_what_target_tenant_when_ip_and_reason(tenant_a):
    with transaction.atomic():
        row = record_audit(
            actor=OPERATOR,
            type="tenant.suspended",
            tenant=tenant_a,
            target_type="tenant",
            target_id=str(tenant_a.pk),
            reason="unpaid invoice",
        )
    row.refresh_from_db()
    assert (row.actor_kind, row.actor_id, row.actor_label, row.actor_role) == ("operator", "17", "ops@rollcall.test", "admin")
    assert (row.type, row.tenant_id, row.target_id, row.source_ip, row.reason) == (
        "tenant.suspended", tenant_a.pk, str(tenant_a.pk), "127.0.0.1", "unpaid invoice",
    )
    assert timezone.now() - row.occurred_at < timedelta(minutes=1)


def test_the_database_refuses_update_and_delete_even_in_raw_sql(tenant_a):
    with transaction.atomic():
        row = record_audit(actor=OPERATOR, type=AuditEventType.TOKEN_REVOKED, tenant=tenant_a)
    for statement in (
        "UPDATE tenants_auditevent SET reason = 'rewritten' WHERE id = %s",
        "DELETE FROM tenants_auditevent WHERE id = %s",
    ):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [row.pk])
    row.refresh_from_db()
    assert row.reason == ""
    with pytest.raises(DatabaseError, match="append-only"), transaction.atomic():
        AuditEvent.objects.filter(pk=row.pk).delete()
    assert AuditEvent.objects.filter(pk=row.pk).exists()


def test_the_tenant_services_audit_every_action_with_the_actor(tenant_a):
    created = services.create_tenant(name="Globex", slug="globex", actor=OPERATOR)
    tenant = created.tenant
    issued = services.create_connection(tenant=tenant, idp="okta", actor=OPERATOR)
    services.rotate_token(connection=issued.connection, actor=OPERATOR)
    assert services.revoke_tokens(connection=issued.connection, actor=OPERATOR, reason="leaked") == 2
    services.issue_setup_link(tenant=tenant, actor=OPERATOR)  # a new link replaces the unused first one
    assert services.revoke_setup_links(tenant=tenant, actor=OPERATOR) == 1
    key = services.create_api_key(tenant=tenant, label="billing", actor=OPERATOR)
    assert services.revoke_api_key(tenant=tenant, key_id=key.split("_")[1], actor=OPERATOR)
    services.suspend_tenant(tenant=tenant, actor=OPERATOR, reason="security review")
    services.resume_tenant(tenant=tenant, actor=OPERATOR)

    assert types_of(tenant) == [
        "tenant.created", "setup_link.issued",
        "connection.created", "token.issued",
        "token.rotated",
        "token.revoked", "token.revoked",
        "setup_link.revoked", "setup_link.issued",
        "setup_link.revoked",
        "api_key.issued", "api_key.revoked",
        "tenant.suspended", "tenant.resumed",
    ]
    rows = AuditEvent.objects.filter(tenant_id=tenant.pk)
    assert {(r.actor_kind, r.actor_id, r.actor_role) for r in rows} == {("operator", "17", "admin")}
    assert rows.get(type="tenant.suspended").reason == "security review"
    # No secret reaches the audit log: not the tokens, the setup link or the API key.
    dumped = json.dumps([r.data for r in rows])
    assert issued.token not in dumped and key not in dumped and created.setup_url.rsplit("/", 1)[1] not in dumped
    assert tenant_a.pk not in {r.tenant_id for r in rows}


def test_a_refused_action_writes_no_audit_row(tenant_a):
    before = AuditEvent.objects.count()
    with pytest.raises(services.TenantError):
        services.create_tenant(name="Dup", slug=tenant_a.slug, actor=OPERATOR)
    with pytest.raises(services.TenantError, match="reason"):
        services.suspend_tenant(tenant=tenant_a, actor=OPERATOR, reason="  ")
    assert AuditEvent.objects.count() == before
    assert Tenant.objects.get(pk=tenant_a.pk).status == Tenant.Status.ACTIVE


def test_suspending_twice_records_one_row(tenant_a):
    services.suspend_tenant(tenant=tenant_a, actor=OPERATOR, reason="fraud check")
    services.suspend_tenant(tenant=tenant_a, actor=OPERATOR, reason="again")
    assert types_of(tenant_a).count("tenant.suspended") == 1


def test_cli_commands_audit_as_the_person_at_the_terminal(tenant_a):
    out = StringIO()
    call_command("rollcall_connection", "create", "--tenant", tenant_a.slug, "--idp", "entra", "--json", stdout=out)
    connection_id = json.loads(out.getvalue())["connection_id"]
    assert ScimConnection.objects.filter(pk=connection_id).exists()
    row = AuditEvent.objects.get(type="connection.created", target_id=connection_id)
    assert row.actor_kind == "cli" and row.actor_label == "manage.py rollcall_connection create" and row.actor_id


def test_audit_events_page_through_a_tenants_rows_in_time_order(tenant_a, tenant_b):
    with transaction.atomic():
        for i in range(5):
            record_audit(actor=OPERATOR, type=AuditEventType.TOKEN_ISSUED, tenant=tenant_a, target_id=str(i))
        record_audit(actor=OPERATOR, type=AuditEventType.TOKEN_ISSUED, tenant=tenant_b, target_id="b")
    window = AuditWindow(tenant_id=str(tenant_a.pk))
    first = audit_events(window, types=[AuditEventType.TOKEN_ISSUED], limit=3)
    rest = audit_events(window, types=[AuditEventType.TOKEN_ISSUED], after=(first[-1].occurred_at, first[-1].id), limit=3)
    assert [r.target_id for r in first + rest] == ["0", "1", "2", "3", "4"]


# --------------------------------------------------------------------------- exports


def seed_rows(tenant: Tenant, n: int, *, reason: str = "routine") -> None:
    """n audit rows in one statement (50,000 calls of record_audit would only measure the test)."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO tenants_auditevent (occurred_at, type, actor_kind, actor_id, actor_label, actor_role,
                tenant_id, target_type, target_id, reason, request_id, data)
            SELECT now() - make_interval(secs => %s - g), 'token.issued', 'operator', '17', 'ops@rollcall.test',
                   'admin', %s, 'connection', 'c' || g, %s, '', jsonb_build_object('n', g)
            FROM generate_series(1, %s) AS g
            """,
            [n, tenant.pk, reason, n],
        )


def consume(window: AuditWindow, fmt: ExportFormat, chunk: int) -> tuple[int, int]:
    """Stream the export and throw the bytes away; (bytes, peak traced memory in bytes)."""
    tracemalloc.start()
    size = 0
    for part in stream_audit_export(window, fmt, chunk_size=chunk):
        size += len(part)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return size, peak


def test_export_memory_stays_flat_from_5000_to_50000_rows(tenant_a, tenant_b):
    seed_rows(tenant_a, 5_000)
    seed_rows(tenant_b, 50_000)
    small_size, small_peak = consume(AuditWindow(tenant_id=str(tenant_a.pk)), ExportFormat.CSV, 1000)
    large_size, large_peak = consume(AuditWindow(tenant_id=str(tenant_b.pk)), ExportFormat.CSV, 1000)
    assert large_size > 9 * small_size  # ten times the rows really were exported
    assert large_peak < 1.5 * small_peak, (small_peak, large_peak)  # but the memory of one chunk


def test_export_reads_one_bounded_query_per_chunk(tenant_a):
    seed_rows(tenant_a, 2_500)
    window = AuditWindow(tenant_id=str(tenant_a.pk), since=timezone.now() - timedelta(days=1))
    with count_queries(include_search_path=False) as queries:
        parts = list(stream_audit_export(window, ExportFormat.JSON, chunk_size=1000))
    selects = queries.touching("tenants_auditevent")
    assert len(selects) == 3 and all("LIMIT 1000" in s for s in selects)
    assert len(json.loads(b"".join(parts))) == AuditEvent.objects.filter(tenant_id=tenant_a.pk).count() >= 2_500


def test_csv_and_json_exports_hold_the_tenants_rows_in_the_range_and_nothing_else(tenant_a, tenant_b):
    now = timezone.now()
    with transaction.atomic():
        record_audit(actor=OPERATOR, type=AuditEventType.TENANT_SUSPENDED, tenant=tenant_a, reason="=HYPERLINK(\"x\")")
        record_audit(actor=TEST_ACTOR, type=AuditEventType.TENANT_RESUMED, tenant=tenant_a, data={"note": "ok"})
        record_audit(actor=OPERATOR, type=AuditEventType.TENANT_SUSPENDED, tenant=tenant_b, reason="other tenant")
    window = AuditWindow(tenant_id=str(tenant_a.pk), since=now, until=now + timedelta(minutes=1))

    rows = list(csv.DictReader(io.StringIO(b"".join(stream_audit_export(window, ExportFormat.CSV)).decode())))
    documents = json.loads(b"".join(stream_audit_export(window, ExportFormat.JSON)))

    # tenant.created and setup_link.issued happened before `since`: outside the range.
    assert [r["type"] for r in rows] == ["tenant.suspended", "tenant.resumed"]
    assert [d["type"] for d in documents] == ["tenant.suspended", "tenant.resumed"]
    assert rows[0]["reason"] == "'=HYPERLINK(\"x\")"  # a spreadsheet shows it, never runs it
    assert documents[0]["reason"] == '=HYPERLINK("x")'  # JSON keeps the exact text
    assert json.loads(rows[1]["data"]) == {"note": "ok"} and documents[1]["data"] == {"note": "ok"}
    assert {d["tenant_id"] for d in documents} == {str(tenant_a.pk)}
    assert documents[0]["actor_role"] == "admin" and documents[0]["source_ip"] == "127.0.0.1"


def test_an_empty_export_is_still_valid(tenant_a):
    window = AuditWindow(tenant_id=str(tenant_a.pk), since=timezone.now() + timedelta(days=1))
    assert json.loads(b"".join(stream_audit_export(window, ExportFormat.JSON))) == []
    assert b"".join(stream_audit_export(window, ExportFormat.CSV)).decode().splitlines() == [
        "id,occurred_at,type,tenant_id,actor_kind,actor_id,actor_label,actor_role,target_type,target_id,source_ip,reason,request_id,data"
    ]


def test_cli_actor_falls_back_when_there_is_no_login_name(monkeypatch):
    import getpass

    def no_user() -> str:
        raise KeyError("uid not in passwd")

    monkeypatch.setattr(getpass, "getuser", no_user)
    assert AuditActor.cli("rollcall_tenant create").id == "unknown"


# --------------------------------------------------------------------------- tenant-admin actions


def test_directory_settings_changed_by_a_tenant_admin_are_audited_and_pipeline_changes_are_not(tenant_a):
    from directory import roles
    from directory.attribute_mappings import set_attribute_mapping
    from outbox.append import Actor
    from tenants.context import tenant_schema
    from tests.support.directory import make_group, make_user

    admin = Actor(kind="portal", id="admin-7", request_id="req-1")
    with tenant_schema(tenant_a):
        group = make_group("Engineering")
        user = make_user("ada@acme.test")
        roles.map_group_to_role(group_id=group.id, role_key="editor", actor=admin)
        roles.create_role(key="auditor", name="Auditor", billable=False, actor=admin)
        roles.grant_role_manually(user_id=user.id, role_key="admin", tenant=TenantRef.of(tenant_a), actor=admin)
        set_attribute_mapping(idp="generic", mapping={"department": "title"}, actor=admin)
        roles.unmap_group(group_id=group.id, actor=Actor(kind="system", id="pipeline"))  # not a person

    rows = list(AuditEvent.objects.filter(tenant_id=tenant_a.pk, actor_kind="tenant_admin").order_by("id"))
    assert [r.type for r in rows] == [
        "role_mapping.changed", "role.created", "role.granted_manually", "attribute_mapping.changed",
    ]
    assert {(r.actor_id, r.request_id) for r in rows} == {("admin-7", "req-1")}
    assert rows[0].data == {"group_id": str(group.id), "role": "editor", "previous_role": None}
    assert rows[3].data["changes"] == [
        {"field": "department", "before": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department", "after": "title"}
    ]
    assert not AuditEvent.objects.filter(type="role_mapping.changed", actor_kind="system").exists()
