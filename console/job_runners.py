"""The built-in job runners: audit export, bulk webhook replay, rollup rebuild, user re-mapping, and the
customer portal's request-log export and deactivation of a deleted connection's users.

Each advances its job by one bounded step and keeps its cursor in `step.state`, which is committed
with the step's effects (console.jobs). File output is made exactly-once the same way: the state
records how many bytes of the result file are committed, and every step first truncates the file to
that length, so a step repeated after a crash never writes its rows twice.
"""

from __future__ import annotations

import os
import uuid
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

from django.db.models import Max, Min

from console import rollup
from console.jobs import JobError, JobStep, StepOutcome, export_dir, register_runner
from directory.attribute_mappings import remap_users
from directory.connection_users import deactivate_connection_users
from directory.models import DirectoryUser
from outbox.append import Actor
from outbox.models import Event
from provisioning.models import WebhookEndpoint
from provisioning.webhooks.replay import replay_deliveries
from scim.idp import get_profile
from scim_api.export import REQUEST_LOG_COLUMNS, request_log_chunk, request_log_csv_rows
from tenants.audit import (
    AuditActor,
    AuditWindow,
    ExportFormat,
    csv_line,
    cursor_of,
    export_footer,
    export_header,
    export_rows,
    read_export_chunk,
)
from tenants.context import TenantRef, tenant_schema
from tenants.models import ScimConnection, Tenant

EXPORT_ROWS_PER_STEP = 5000
REPLAY_SEQS_PER_STEP = 1000
REMAP_USERS_PER_STEP = 500
REBUILD_SLICES_PER_STEP = 12
REBUILD_SLICE = timedelta(hours=6)
MAX_REBUILD_HOURS = 24 * 35


class JobKind(StrEnum):
    AUDIT_EXPORT = "audit_export"
    WEBHOOK_REPLAY = "webhook_replay"
    ROLLUP_REBUILD = "rollup_rebuild"
    REMAP_USERS = "remap_users"
    REQUEST_LOG_EXPORT = "request_log_export"
    DEACTIVATE_CONNECTION_USERS = "deactivate_connection_users"


def _time(params: dict[str, Any], key: str) -> datetime | None:
    raw = params.get(key)
    if raw in (None, ""):
        return None
    try:
        moment = raw if isinstance(raw, datetime) else datetime.fromisoformat(str(raw))
    except ValueError:
        raise JobError(f"{key} must be an ISO 8601 date and time, got {raw!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _int(params: dict[str, Any], key: str) -> int | None:
    raw = params.get(key)
    if raw in (None, ""):
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise JobError(f"{key} must be a whole number, got {raw!r}") from None


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _tenant_of(step: JobStep) -> TenantRef:
    if step.tenant is None:  # guarded by needs_tenant; a job whose tenant was deleted lands here
        raise JobError("the job's tenant no longer exists")
    return step.tenant


# --------------------------------------------------------------------------- audit export


def _validate_export(params: dict[str, Any], tenant: Tenant | None) -> dict[str, Any]:
    try:
        fmt = ExportFormat(str(params.get("format", "csv")).lower())
    except ValueError:
        raise JobError("format must be csv or json") from None
    since, until = _time(params, "since"), _time(params, "until")
    if since and until and since >= until:
        raise JobError("the time range must end after it starts")
    return {"format": fmt.value, "since": _iso(since), "until": _iso(until)}


@register_runner(JobKind.AUDIT_EXPORT, needs_tenant=False, validate=_validate_export)
def export_audit_log(step: JobStep) -> StepOutcome:
    """Write the audit log of a tenant (or of all tenants) in a time range to a CSV or JSON file."""
    fmt = ExportFormat(step.params["format"])
    window = AuditWindow(
        tenant_id=step.tenant.id if step.tenant else None,
        since=_time(dict(step.params), "since"),
        until=_time(dict(step.params), "until"),
    )
    state = step.state
    if "total" not in state:
        state.update(total=window.queryset().count(), rows=0, bytes=0, after=None)
    after = (datetime.fromisoformat(state["after"][0]), int(state["after"][1])) if state["after"] else None
    rows = read_export_chunk(window, after=after, limit=EXPORT_ROWS_PER_STEP)
    done = len(rows) < EXPORT_ROWS_PER_STEP
    name = f"{step.job_id}.{fmt.value}"
    directory = export_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    with path.open("r+b" if path.exists() else "w+b") as out:
        out.truncate(state["bytes"])  # drop what a crashed attempt of this step wrote
        out.seek(state["bytes"])
        if state["bytes"] == 0:
            out.write(export_header(fmt))
        out.write(export_rows(fmt, rows, rows_before=state["rows"]))
        if done:
            out.write(export_footer(fmt, rows_written=state["rows"] + len(rows)))
        out.flush()
        os.fsync(out.fileno())  # on disk before the state that counts these bytes commits
        state["bytes"] = out.tell()
    state["rows"] += len(rows)
    if rows:
        moment, row_id = cursor_of(rows[-1])
        state["after"] = [moment.isoformat(), row_id]
    return StepOutcome(
        done=done,
        progress_done=state["rows"],
        progress_total=max(state["total"], state["rows"]),
        result={"rows": state["rows"], "bytes": state["bytes"], "format": fmt.value},
        result_path=name,
    )


# --------------------------------------------------------------------------- bulk webhook replay


def _validate_replay(params: dict[str, Any], tenant: Tenant | None) -> dict[str, Any]:
    assert tenant is not None
    try:
        endpoint_id = str(uuid.UUID(str(params.get("endpoint_id", ""))))
    except ValueError:
        raise JobError("endpoint_id must be a webhook endpoint's id") from None
    seq_from, seq_to = _int(params, "seq_from"), _int(params, "seq_to")
    since, until = _time(params, "since"), _time(params, "until")
    if seq_from is None and seq_to is None and since is None and until is None:
        raise JobError("give a seq range or a time range to replay")
    if seq_from is not None and seq_to is not None and seq_from > seq_to:
        raise JobError("seq_from must not be after seq_to")
    if since and until and since > until:
        raise JobError("the time range must end after it starts")
    with tenant_schema(tenant):
        if not WebhookEndpoint.objects.filter(pk=endpoint_id).exists():
            raise JobError(f"{tenant.name} has no webhook endpoint {endpoint_id}")
    return {
        "endpoint_id": endpoint_id,
        "seq_from": seq_from,
        "seq_to": seq_to,
        "since": _iso(since),
        "until": _iso(until),
        "dead_only": bool(params.get("dead_only", False)),
    }


@register_runner(JobKind.WEBHOOK_REPLAY, needs_tenant=True, validate=_validate_replay)
def replay_webhooks(step: JobStep) -> StepOutcome:
    """Re-send an endpoint's events in a seq or time window, a thousand seqs per step."""
    params = dict(step.params)
    since, until = _time(params, "since"), _time(params, "until")
    state = step.state
    tenant = _tenant_of(step)
    with tenant_schema(tenant):
        if "cursor" not in state:
            events = Event.objects.all()
            if params["seq_from"] is not None:
                events = events.filter(seq__gte=params["seq_from"])
            if params["seq_to"] is not None:
                events = events.filter(seq__lte=params["seq_to"])
            if since is not None:
                events = events.filter(occurred_at__gte=since)
            if until is not None:
                events = events.filter(occurred_at__lte=until)
            bounds = events.aggregate(lo=Min("seq"), hi=Max("seq"))
            if bounds["lo"] is None:
                return StepOutcome(done=True, progress_done=0, progress_total=0, result={"replayed": 0})
            state.update(lo=bounds["lo"], hi=bounds["hi"], cursor=bounds["lo"], replayed=0)
        upto = min(state["cursor"] + REPLAY_SEQS_PER_STEP - 1, state["hi"])
        state["replayed"] += replay_deliveries(
            tenant=tenant,
            endpoint_id=params["endpoint_id"],
            seq_from=state["cursor"],
            seq_to=upto,
            since=since,
            until=until,
            dead_only=params["dead_only"],
        )
    state["cursor"] = upto + 1
    total = state["hi"] - state["lo"] + 1
    return StepOutcome(
        done=state["cursor"] > state["hi"],
        progress_done=state["cursor"] - state["lo"],
        progress_total=total,
        result={"replayed": state["replayed"]},
    )


# --------------------------------------------------------------------------- rollup rebuild


def _validate_rebuild(params: dict[str, Any], tenant: Tenant | None) -> dict[str, Any]:
    hours = _int(params, "hours") or 48
    if not 1 <= hours <= MAX_REBUILD_HOURS:
        raise JobError(f"hours must be between 1 and {MAX_REBUILD_HOURS}")
    return {"hours": hours}


def _next_tenant(after_id: str | None, only: TenantRef | None) -> Tenant | None:
    if only is not None:
        return Tenant.objects.filter(pk=only.id).first() if after_id is None else None
    qs = Tenant.objects.order_by("id")
    if after_id is not None:
        qs = qs.filter(id__gt=uuid.UUID(after_id))
    return qs.first()


@register_runner(JobKind.ROLLUP_REBUILD, needs_tenant=False, validate=_validate_rebuild)
def rebuild_rollup(step: JobStep) -> StepOutcome:
    """Recompute the health rollup of one tenant (or every tenant) over the last `hours` hours,
    in six-hour slices, a dozen slices per step."""
    state = step.state
    if "window_start" not in state:
        now = datetime.now(UTC)
        start = rollup.hour_of(now - timedelta(hours=int(step.params["hours"])))
        total = 1 if step.tenant else Tenant.objects.count()
        state.update(window_start=start.isoformat(), now=now.isoformat(), after_id=None, tenant_id=None, slice=None, done=0, total=total)
    window_start = datetime.fromisoformat(state["window_start"])
    now = datetime.fromisoformat(state["now"])
    for _ in range(REBUILD_SLICES_PER_STEP):
        if state["tenant_id"] is None:
            tenant = _next_tenant(state["after_id"], step.tenant)
            if tenant is None:
                return StepOutcome(done=True, progress_done=state["done"], progress_total=state["total"])
            state.update(tenant_id=str(tenant.pk), slice=window_start.isoformat())
        tenant = Tenant.objects.get(pk=state["tenant_id"])
        slice_start = datetime.fromisoformat(state["slice"])
        slice_end = min(slice_start + REBUILD_SLICE, now)
        rollup.refresh_tenant(TenantRef.of(tenant), since=slice_start, until=slice_end if slice_end < now else None, now=now)
        if slice_end >= now:
            state.update(after_id=state["tenant_id"], tenant_id=None, slice=None, done=state["done"] + 1)
        else:
            state["slice"] = slice_end.isoformat()
    return StepOutcome(done=False, progress_done=state["done"], progress_total=state["total"])


# --------------------------------------------------------------------------- re-mapping users


def outbox_actor(actor: AuditActor) -> Actor:
    """The pipeline's actor for changes a job makes on someone's behalf."""
    kind = {"operator": "operator", "tenant_admin": "portal"}.get(actor.kind, "system")
    return Actor(kind=kind, id=actor.id or actor.kind, request_id=actor.request_id, source_ip=actor.source_ip)  # type: ignore[arg-type]


def _validate_remap(params: dict[str, Any], tenant: Tenant | None) -> dict[str, Any]:
    assert tenant is not None
    idp = str(params.get("idp") or "")
    if not idp:
        first = ScimConnection.objects.filter(tenant=tenant).order_by("created_at").values_list("idp", flat=True).first()
        idp = first or "generic"
    try:
        get_profile(idp)
    except KeyError:
        raise JobError(f"unknown IdP profile {idp!r}") from None
    return {"idp": idp}


@register_runner(JobKind.REMAP_USERS, needs_tenant=True, validate=_validate_remap)
def remap_tenant_users(step: JobStep) -> StepOutcome:
    """Re-apply the tenant's attribute mapping to every user, 500 per step (after a mapping change)."""
    state = step.state
    tenant = _tenant_of(step)
    with tenant_schema(tenant):
        if "total" not in state:
            state.update(total=DirectoryUser.objects.count(), examined=0, changed=0, after_id=None)
        after = uuid.UUID(state["after_id"]) if state["after_id"] else None
        progress = remap_users(
            idp=step.params["idp"], actor=outbox_actor(step.actor), after_id=after, limit=REMAP_USERS_PER_STEP
        )
    state["examined"] += progress.examined
    state["changed"] += progress.changed
    state["after_id"] = str(progress.last_id) if progress.last_id else None
    return StepOutcome(
        done=progress.last_id is None,
        progress_done=state["examined"],
        progress_total=max(state["total"], state["examined"]),
        result={"examined": state["examined"], "changed": state["changed"]},
    )


# --------------------------------------------------------------------------- the portal's long work


def _validate_deactivation(params: dict[str, Any], tenant: Tenant | None) -> dict[str, Any]:
    connection_id = str(params.get("connection_id") or "")[:32]
    idp = str(params.get("idp") or "")
    if not connection_id:
        raise JobError("connection_id is required")
    try:
        get_profile(idp)
    except KeyError:
        raise JobError(f"unknown IdP profile {idp!r}") from None
    return {"connection_id": connection_id, "idp": idp}


@register_runner(JobKind.DEACTIVATE_CONNECTION_USERS, needs_tenant=True, validate=_validate_deactivation)
def deactivate_users_of_connection(step: JobStep) -> StepOutcome:
    """Deactivate the active users a deleted connection provisioned, 200 per step (each offboarded)."""
    state = step.state
    tenant = _tenant_of(step)
    connection_id = step.params["connection_id"]
    with tenant_schema(tenant):
        if "total" not in state:
            active = DirectoryUser.objects.filter(source_connection_id=connection_id, active=True)
            state.update(total=active.count(), deactivated=0, after_id=None)
        after = uuid.UUID(state["after_id"]) if state["after_id"] else None
        batch = deactivate_connection_users(
            connection_id=connection_id, idp=step.params["idp"], actor=outbox_actor(step.actor), after_id=after
        )
    state["deactivated"] += batch.deactivated
    state["after_id"] = str(batch.last_id) if batch.last_id else None
    return StepOutcome(
        done=batch.last_id is None,
        progress_done=state["deactivated"],
        progress_total=max(state["total"], state["deactivated"]),
        result={"deactivated": state["deactivated"]},
    )


def _validate_request_export(params: dict[str, Any], tenant: Tenant | None) -> dict[str, Any]:
    since, until = _time(params, "since"), _time(params, "until")
    if since and until and since >= until:
        raise JobError("the time range must end after it starts")
    return {"since": _iso(since), "until": _iso(until)}


@register_runner(JobKind.REQUEST_LOG_EXPORT, needs_tenant=True, validate=_validate_request_export)
def export_request_log(step: JobStep) -> StepOutcome:
    """Write the tenant's SCIM request log in a time range to a CSV file (redacted bodies), 5,000 rows a step."""
    state = step.state
    tenant = _tenant_of(step)
    since, until = _time(dict(step.params), "since"), _time(dict(step.params), "until")
    with tenant_schema(tenant):
        rows, total = request_log_chunk(
            since=since, until=until, after_id=state.get("after_id"), limit=EXPORT_ROWS_PER_STEP,
            count=("total" not in state),
        )
    if "total" not in state:
        state.update(total=total, rows=0, bytes=0, after_id=None)
    done = len(rows) < EXPORT_ROWS_PER_STEP
    name = f"{step.job_id}.csv"
    directory = export_dir()
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    with path.open("r+b" if path.exists() else "w+b") as out:
        out.truncate(state["bytes"])  # drop what a crashed attempt of this step wrote
        out.seek(state["bytes"])
        if state["bytes"] == 0:
            out.write(csv_line(REQUEST_LOG_COLUMNS))
        out.write(b"".join(csv_line(r) for r in request_log_csv_rows(rows)))
        out.flush()
        os.fsync(out.fileno())
        state["bytes"] = out.tell()
    state["rows"] += len(rows)
    if rows:
        state["after_id"] = rows[-1][0]
    return StepOutcome(
        done=done,
        progress_done=state["rows"],
        progress_total=max(state["total"], state["rows"]),
        result={"rows": state["rows"], "bytes": state["bytes"], "format": "csv"},
        result_path=name,
    )
