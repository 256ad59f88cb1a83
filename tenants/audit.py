"""The audit log: who did what to which tenant, appended in the transaction of the action.

Event types are registered once (`AuditEventType`); recording an unknown type fails, so nothing
branches on free-form strings. The table is append-only in the database itself (a trigger refuses
UPDATE and DELETE, see migration 0003). Exports stream CSV or JSON in keyset-paged chunks, so a
million rows cost the memory of one chunk.
"""

from __future__ import annotations

import csv
import getpass
import io
import json
import uuid
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from django.db import connection
from django.db.models import Q, QuerySet

from tenants.context import TenantRef
from tenants.models import AuditEvent, Tenant


class AuditEventType(StrEnum):
    TENANT_CREATED = "tenant.created"
    TENANT_SUSPENDED = "tenant.suspended"
    TENANT_RESUMED = "tenant.resumed"
    SETUP_LINK_ISSUED = "setup_link.issued"
    SETUP_LINK_REVOKED = "setup_link.revoked"
    CONNECTION_CREATED = "connection.created"
    TOKEN_ISSUED = "token.issued"
    TOKEN_ROTATED = "token.rotated"
    TOKEN_REVOKED = "token.revoked"
    API_KEY_ISSUED = "api_key.issued"
    API_KEY_REVOKED = "api_key.revoked"
    ADMIN_INVITED = "admin.invited"
    ADMIN_INVITE_REVOKED = "admin.invite_revoked"
    ADMIN_REMOVED = "admin.removed"
    SUPPORT_SESSION_STARTED = "support_session.started"
    SUPPORT_SESSION_ENDED = "support_session.ended"
    JOB_REQUESTED = "job.requested"
    JOB_CANCELLED = "job.cancelled"
    WEBHOOK_ENDPOINT_CREATED = "webhook_endpoint.created"
    WEBHOOK_ENDPOINT_DISABLED = "webhook_endpoint.disabled"
    WEBHOOK_ENDPOINT_ENABLED = "webhook_endpoint.enabled"
    WEBHOOK_SECRET_ROTATED = "webhook_endpoint.secret_rotated"
    WEBHOOK_DELIVERY_REPLAYED = "webhook_delivery.replayed"
    EVENT_RETRIED = "event.retried"
    EVENT_SKIPPED = "event.skipped"
    # Directory settings a tenant admin (or an operator) changes.
    ROLE_MAPPING_CHANGED = "role_mapping.changed"
    ROLE_CREATED = "role.created"
    ROLES_REORDERED = "roles.reordered"
    ROLE_GRANTED_MANUALLY = "role.granted_manually"
    ATTRIBUTE_MAPPING_CHANGED = "attribute_mapping.changed"
    DEFAULT_ROLE_CHANGED = "default_role.changed"
    # What a tenant's own admins do in the portal (connections after setup, the wizard, admins).
    CONNECTION_RENAMED = "connection.renamed"
    CONNECTION_IDP_CHANGED = "connection.idp_changed"
    CONNECTION_DISABLED = "connection.disabled"
    CONNECTION_ENABLED = "connection.enabled"
    CONNECTION_DELETED = "connection.deleted"
    SETUP_COMPLETED = "setup.completed"
    # The console's operator accounts (no tenant).
    OPERATOR_CREATED = "operator.created"
    OPERATOR_ROLE_CHANGED = "operator.role_changed"
    OPERATOR_REMOVED = "operator.removed"

    @classmethod
    def parse(cls, value: str) -> AuditEventType:
        try:
            return cls(value)
        except ValueError:
            raise UnknownAuditEventType(value) from None


class UnknownAuditEventType(ValueError):
    def __init__(self, value: str) -> None:
        super().__init__(f"unknown audit event type {value!r}: register it in tenants.audit.AuditEventType")


AuditActorKind = Literal["operator", "tenant_admin", "cli", "system"]


@dataclass(frozen=True)
class AuditActor:
    """Who acted: an operator (role support/admin), a tenant admin, a CLI user, or the system itself."""

    kind: AuditActorKind
    id: str
    label: str = ""
    role: str = ""
    source_ip: str | None = None
    request_id: str = ""

    @classmethod
    def cli(cls, command: str) -> AuditActor:
        """The person at the terminal running a management command."""
        try:
            user = getpass.getuser()
        except Exception:  # no login name in a container without /etc/passwd entry
            user = "unknown"
        return cls(kind="cli", id=user, label=f"manage.py {command}")

    @classmethod
    def system(cls, component: str) -> AuditActor:
        return cls(kind="system", id=component, label=component)

    @property
    def display(self) -> str:
        return self.label or f"{self.kind}:{self.id}"


def _tenant_id(tenant: Tenant | TenantRef | uuid.UUID | str | None) -> str | None:
    if tenant is None:
        return None
    if isinstance(tenant, str | uuid.UUID):
        return str(tenant)
    return str(tenant.id if isinstance(tenant, TenantRef) else tenant.pk)


def record_audit(
    *,
    actor: AuditActor,
    type: AuditEventType | str,
    tenant: Tenant | TenantRef | uuid.UUID | str | None = None,
    target_type: str = "",
    target_id: str = "",
    reason: str = "",
    data: dict[str, Any] | None = None,
) -> AuditEvent:
    """Append one audit row; call inside the transaction of the action it records."""
    event_type = type if isinstance(type, AuditEventType) else AuditEventType.parse(type)
    if not connection.in_atomic_block:
        raise RuntimeError("record_audit must run inside the transaction of the action it records")
    payload = data or {}
    json.dumps(payload)  # fail here, with the caller in the traceback, not at INSERT time
    return AuditEvent.objects.create(
        type=event_type.value,
        actor_kind=actor.kind,
        actor_id=actor.id[:128],
        actor_label=actor.label[:254],
        actor_role=actor.role[:32],
        tenant_id=_tenant_id(tenant),
        target_type=target_type[:32],
        target_id=str(target_id)[:128],
        source_ip=actor.source_ip,
        reason=reason,
        request_id=actor.request_id[:64],
        data=payload,
    )


# --------------------------------------------------------------------------- reading


@dataclass(frozen=True)
class AuditWindow:
    """Which rows: one tenant (or every tenant when None) and a time range [since, until)."""

    tenant_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def queryset(self) -> QuerySet[AuditEvent]:
        qs = AuditEvent.objects.all()
        if self.tenant_id is not None:
            qs = qs.filter(tenant_id=self.tenant_id)
        if self.since is not None:
            qs = qs.filter(occurred_at__gte=self.since)
        if self.until is not None:
            qs = qs.filter(occurred_at__lt=self.until)
        return qs


AuditCursor = tuple[datetime, int]


def audit_events(
    window: AuditWindow,
    *,
    types: Sequence[AuditEventType] = (),
    after: AuditCursor | None = None,
    limit: int = 50,
) -> list[AuditEvent]:
    """A page of audit rows in time order (keyset-paged: pass the last row's (occurred_at, id) as `after`)."""
    qs = window.queryset()
    if types:
        qs = qs.filter(type__in=[t.value for t in types])
    if after is not None:
        qs = qs.filter(Q(occurred_at__gt=after[0]) | Q(occurred_at=after[0], id__gt=after[1]))
    return list(qs.order_by("occurred_at", "id")[:limit])


def recent_audit_events(window: AuditWindow, *, before: AuditCursor | None = None, limit: int = 50) -> list[AuditEvent]:
    """A page of audit rows, newest first (keyset: pass the last row's (occurred_at, id) as `before`)."""
    qs = window.queryset()
    if before is not None:
        qs = qs.filter(Q(occurred_at__lt=before[0]) | Q(occurred_at=before[0], id__lt=before[1]))
    return list(qs.order_by("-occurred_at", "-id")[:limit])


# --------------------------------------------------------------------------- export

EXPORT_COLUMNS = (
    "id",
    "occurred_at",
    "type",
    "tenant_id",
    "actor_kind",
    "actor_id",
    "actor_label",
    "actor_role",
    "target_type",
    "target_id",
    "source_ip",
    "reason",
    "request_id",
    "data",
)
EXPORT_CHUNK = 2000
# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection).
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


class ExportFormat(StrEnum):
    CSV = "csv"
    JSON = "json"

    @property
    def content_type(self) -> str:
        return "text/csv; charset=utf-8" if self is ExportFormat.CSV else "application/json"


def read_export_chunk(window: AuditWindow, *, after: AuditCursor | None, limit: int = EXPORT_CHUNK) -> list[tuple[Any, ...]]:
    """The next `limit` rows after `after` as plain tuples (one keyset query; memory of one chunk)."""
    qs = window.queryset()
    if after is not None:
        qs = qs.filter(Q(occurred_at__gt=after[0]) | Q(occurred_at=after[0], id__gt=after[1]))
    return list(qs.order_by("occurred_at", "id").values_list(*EXPORT_COLUMNS)[:limit])


def cursor_of(row: tuple[Any, ...]) -> AuditCursor:
    return (row[1], int(row[0]))


def _row_dict(row: tuple[Any, ...]) -> dict[str, Any]:
    values = dict(zip(EXPORT_COLUMNS, row, strict=True))
    values["occurred_at"] = values["occurred_at"].isoformat()
    values["tenant_id"] = str(values["tenant_id"]) if values["tenant_id"] else None
    return values


def _csv_cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, dict):
        return json.dumps(value, sort_keys=True, separators=(",", ":"))
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_STARTS) else text


def export_header(fmt: ExportFormat) -> bytes:
    if fmt is ExportFormat.CSV:
        return _csv_line(EXPORT_COLUMNS)
    return b"[\n"


def export_footer(fmt: ExportFormat, *, rows_written: int) -> bytes:
    if fmt is ExportFormat.CSV:
        return b""
    return b"\n]\n" if rows_written else b"]\n"


def csv_line(values: Iterable[Any]) -> bytes:
    """One formula-safe CSV row (every CSV export writes its rows through this)."""
    return _csv_line(values)


def _csv_line(values: Iterable[Any]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow([_csv_cell(v) for v in values])
    return buffer.getvalue().encode()


def export_rows(fmt: ExportFormat, rows: Sequence[tuple[Any, ...]], *, rows_before: int) -> bytes:
    """Encode a chunk; `rows_before` (rows already written) decides the JSON separator."""
    if fmt is ExportFormat.CSV:
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\r\n")
        writer.writerows([_csv_cell(v) for v in _row_dict(r).values()] for r in rows)
        return buffer.getvalue().encode()
    parts = []
    for index, row in enumerate(rows):
        separator = ",\n" if rows_before + index else ""
        parts.append(separator + json.dumps(_row_dict(row), sort_keys=True, separators=(",", ":")))
    return "".join(parts).encode()


def stream_audit_export(window: AuditWindow, fmt: ExportFormat, *, chunk_size: int = EXPORT_CHUNK) -> Iterator[bytes]:
    """The export as a stream of byte chunks (for a streaming response): one query per chunk."""
    yield export_header(fmt)
    written = 0
    after: AuditCursor | None = None
    while True:
        rows = read_export_chunk(window, after=after, limit=chunk_size)
        if not rows:
            break
        yield export_rows(fmt, rows, rows_before=written)
        written += len(rows)
        after = cursor_of(rows[-1])
        if len(rows) < chunk_size:
            break
    yield export_footer(fmt, rows_written=written)
