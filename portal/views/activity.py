"""Workspace: Activity. The tenant's SCIM request log with filters, each request explained with the
quirks that were normalised and the events it produced; a request's detail with its redacted body."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase, QueryDict
from django.shortcuts import redirect, render

from console.job_runners import JobKind
from directory.models import DirectoryUser
from directory.selectors import parse_id
from portal import jobs
from portal.explain import explain_request
from portal.templatetags.rollcall import path_label
from portal.views.base import TenantPortalView
from portal.views.wizard import POLL_DONE
from scim.idp import get_profile
from scim.quirks import describe
from scim_api.models import RequestLog
from scim_api.selectors import STATUS_CLASSES, RequestFilter, events_of_requests, request_page
from tenants.audit import AuditWindow, recent_audit_events
from tenants.connections import connections_of
from tenants.models import AuditEvent
from tenants.support_access import support_access_log

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
STATUSES = (("2xx", "Succeeded (2xx)"), ("4xx", "Refused (4xx)"), ("401", "Unauthorized (401)"), ("5xx", "Failed (5xx)"))


def _moment(raw: str, *, end: bool = False) -> tuple[datetime | None, str]:
    """A date (YYYY-MM-DD) or datetime-local value in UTC; an end date covers its whole day."""
    raw = (raw or "").strip()
    if not raw:
        return None, ""
    try:
        if len(raw) == 10:
            day = datetime.fromisoformat(raw).replace(tzinfo=UTC)
            return (day + timedelta(days=1) if end else day), ""
        return datetime.fromisoformat(raw).replace(tzinfo=UTC), ""
    except ValueError:
        return None, "Use a date like 2026-12-01."


def request_filter(query: QueryDict) -> tuple[RequestFilter, dict[str, str], DirectoryUser | None]:
    """The filters in the query string, field errors for the ones that are not valid, and the user named."""
    errors: dict[str, str] = {}
    since, errors["since"] = _moment(query.get("since", ""))
    until, errors["until"] = _moment(query.get("until", ""), end=True)
    if since and until and since >= until:
        errors["until"] = "The end must be after the start."
    status = query.get("status", "")
    if status and status not in STATUS_CLASSES and not (status.isdigit() and len(status) == 3):
        errors["status"] = "Choose a status from the list."
        status = ""
    method = query.get("method", "").upper()
    if method and method not in METHODS:
        errors["method"] = "Choose a method from the list."
        method = ""
    user: DirectoryUser | None = None
    who = query.get("user", "").strip()
    resource_id = ""
    if who:
        pk = parse_id(who)
        lookup = DirectoryUser.objects.only("id", "user_name", "display_name")
        user = lookup.filter(pk=pk).first() if pk else lookup.filter(user_name__iexact=who).first()
        if user is None:
            errors["user"] = "No user with that userName or id."
        else:
            resource_id = str(user.pk)
    resource = query.get("resource", "")
    filters = RequestFilter(
        status=status,
        method=method,
        resource="User" if resource_id else (resource if resource in {"User", "Group", "other"} else ""),
        resource_id=resource_id,
        connection_id=query.get("connection", "")[:32],
        since=since if not errors.get("since") else None,
        until=until if not errors.get("until") else None,
    )
    return filters, {k: v for k, v in errors.items() if v}, user


PAGE = 50


class ActivityExports(TenantPortalView):
    """The export card both Activity tabs share: start a CSV export (a job), poll it, download it."""

    tab = "requests"

    def export_context(self, request: HttpRequest, **extra: Any) -> dict[str, Any]:
        job = jobs.job_view(self.tenant, request.GET.get("job", ""), kinds=tuple(EXPORT_KINDS.values()))
        errors = getattr(request, "export_errors", {})
        return {"job": job, "poll_url": request.path, "export_errors": errors, "export_form": request.POST if errors else {}, **extra}

    def exports_get(self, request: HttpRequest) -> HttpResponseBase | None:
        if request.GET.get("download"):
            path = jobs.export_file(self.tenant, request.GET["download"])
            if path is None:
                raise Http404("no such export")
            kind = "admin-changes" if self.tab == "audit" else "scim-requests"
            return FileResponse(path.open("rb"), as_attachment=True, filename=f"{self.tenant.slug}-{kind}.csv")
        if request.htmx and request.GET.get("part") == "job":  # type: ignore[attr-defined]
            job = jobs.job_view(self.tenant, request.GET.get("job", ""), kinds=tuple(EXPORT_KINDS.values()))
            if job is None:
                raise Http404("no such job")
            response = render(request, "portal/_job.html", {"job": job, "poll_url": request.path})
            if job.finished:
                response.status_code = POLL_DONE
            return response
        return None

    def post(self, request: HttpRequest) -> HttpResponseBase:
        """Start an export of the request log or the audit log for the chosen dates."""
        kind = EXPORT_KINDS.get(request.POST.get("export", ""))
        since, since_error = _moment(request.POST.get("export_since", ""))
        until, until_error = _moment(request.POST.get("export_until", ""), end=True)
        errors = {k: v for k, v in (("export_since", since_error), ("export_until", until_error)) if v}
        if since and until and since >= until:
            errors["export_until"] = "The end must be after the start."
        if kind is None:
            errors["export"] = "Choose what to export."
        if errors:
            return self.refused(request, errors)
        assert kind is not None
        job_id = jobs.start_export(tenant=self.tenant, kind=kind, since=since, until=until, audit=self.audit_actor())
        return redirect(f"{request.path}?job={job_id}")

    def refused(self, request: HttpRequest, errors: dict[str, str]) -> HttpResponseBase:
        """The page again with the export form's field errors (nothing was queued)."""
        request.export_errors = errors  # type: ignore[attr-defined]
        response = self.get(request)
        response.status_code = 400
        return response

    def get(self, request: HttpRequest) -> HttpResponseBase:
        raise NotImplementedError


class ActivityBase(TenantPortalView):
    def labels(self) -> dict[str, tuple[str, str, str, str]]:
        """connection id -> (connection name, IdP name, token field label, URL field label)."""
        result = {}
        for c in connections_of(self.tenant):
            profile = get_profile(c.idp)
            url_label, token_label = profile.credential_labels()
            result[c.id] = (c.name or profile.name, profile.name, token_label, url_label)
        return result

    def explained(self, row: RequestLog, labels: dict[str, Any]) -> Any:
        _name, idp, token_label, url_label = labels.get(row.connection_id, ("", "Your IdP", "the token field", "the SCIM URL field"))
        data = {f: getattr(row, f) for f in ("status", "method", "path", "auth_failure", "scim_type", "error_detail", "resource_id")}
        return explain_request(data, token_field=token_label, url_field=url_label, idp_name=idp)


class ActivityView(ActivityExports, ActivityBase):
    """/portal/activity: the request log, newest first, keyset-paged (`before`)."""

    def get(self, request: HttpRequest) -> HttpResponseBase:
        if (early := self.exports_get(request)) is not None:
            return early
        filters, errors, user = request_filter(request.GET)
        before = _int(request.GET.get("before"))
        rows, next_before = request_page(filters, before_id=before)
        labels = self.labels()
        events = events_of_requests(rows)
        items = [
            {
                "row": row,
                "explanation": (explanation := self.explained(row, labels)),
                "title": outcome_title(events.get(row.request_id, []), explanation.title),
                "connection": labels.get(row.connection_id, ("Deleted connection",))[0],
                "events": events.get(row.request_id, []),
                "path": _tail(row),
            }
            for row in rows
        ]
        params = request.GET.copy()
        params.pop("before", None)
        context = {
            **self.export_context(request),
            "tenant": self.tenant,
            "nav": "activity",
            "tab": "requests",
            "items": items,
            "errors": errors,
            "query": request.GET,
            "filter_user": user,
            "connections": connections_of(self.tenant),
            "methods": METHODS,
            "statuses": STATUSES,
            "filtered": any(request.GET.get(k) for k in ("status", "method", "resource", "user", "connection", "since", "until")),
            "next_query": f"{params.urlencode()}&before={next_before}" if next_before else "",
            "first_page": before is None,
            "base_query": params.urlencode(),
        }
        return render(request, "portal/activity/requests.html", context, status=400 if errors else 200)


class RequestDetailView(ActivityBase):
    """/portal/activity/requests/<id>: one request, redacted, explained, with the events it produced."""

    def get(self, request: HttpRequest, request_pk: int) -> HttpResponse:
        row = RequestLog.objects.filter(pk=request_pk).first()
        if row is None:
            raise Http404("no such request")
        labels = self.labels()
        user = None
        user_pk = parse_id(row.resource_id) if row.resource_type == "User" else None
        if user_pk is not None:
            user = DirectoryUser.objects.filter(pk=user_pk).only("id", "user_name").first()
        events = events_of_requests([row]).get(row.request_id, [])
        explanation = self.explained(row, labels)
        context = {
            "tenant": self.tenant,
            "nav": "activity",
            "row": row,
            "path": _tail(row),
            "explanation": explanation,
            "title": outcome_title(events, explanation.title),
            "connection": labels.get(row.connection_id, ("Deleted connection",))[0],
            "quirks": [(q, describe(q)) for q in row.quirks or []],
            "events": events,
            "user": user,
        }
        return render(request, "portal/activity/request.html", context)


# What a request did, named after the most telling event it produced (a PATCH that deactivates is
# "User deactivated", not "User updated").
OUTCOMES = (
    ("user.deactivated", "User deactivated"),
    ("user.reactivated", "User reactivated"),
    ("user.deleted", "User deleted"),
    ("user.created", "User created"),
    ("group.created", "Group created"),
    ("group.deleted", "Group deleted"),
    ("group.member_added", "Members added"),
    ("group.member_removed", "Members removed"),
)


def outcome_title(events: list[Any], fallback: str) -> str:
    types = {e.type for e in events}
    both = {"group.member_added", "group.member_removed"} <= types and "group.created" not in types
    if both:
        return "Members changed"
    return next((title for event_type, title in OUTCOMES if event_type in types), fallback)


def _tail(row: RequestLog) -> str:
    prefix = f"/scim/v2/{row.connection_id}"
    tail = row.path[len(prefix) :] if row.path.startswith(prefix) else row.path
    return (tail or "/") + (f"?{row.query}" if row.query else "")


def _int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


# What each audited action means, as a sentence about who did it ("Ines changed the attribute mapping").
AUDIT_SENTENCES: dict[str, str] = {
    "attribute_mapping.changed": "changed the attribute mapping",
    "role_mapping.changed": "changed which role a group grants",
    "role.created": "created a role",
    "roles.reordered": "changed the role order",
    "role.granted_manually": "set a user's role by hand",
    "default_role.changed": "changed the default role",
    "connection.created": "added a connection",
    "connection.renamed": "renamed a connection",
    "connection.idp_changed": "changed a connection's identity provider",
    "connection.disabled": "disabled a connection",
    "connection.enabled": "enabled a connection",
    "connection.deleted": "deleted a connection",
    "token.issued": "generated a token",
    "token.rotated": "rotated a token",
    "token.revoked": "revoked a token",
    "setup.completed": "finished the setup of a connection",
    "setup_link.issued": "issued a setup link",
    "setup_link.revoked": "revoked a setup link",
    "admin.invited": "invited an admin",
    "admin.invite_revoked": "withdrew an admin invite",
    "admin.removed": "removed an admin",
    "tenant.created": "created your account",
    "tenant.suspended": "suspended your account",
    "tenant.resumed": "resumed your account",
    "job.requested": "started background work",
    "job.cancelled": "cancelled background work",
    "api_key.issued": "issued an Events API key",
    "api_key.revoked": "revoked an Events API key",
    "support_session.started": "opened your portal for support",
    "support_session.ended": "ended a support session",
    "webhook_endpoint.created": "added a webhook endpoint",
    "webhook_endpoint.disabled": "disabled a webhook endpoint",
    "webhook_endpoint.enabled": "enabled a webhook endpoint",
    "webhook_endpoint.secret_rotated": "rotated a webhook signing secret",
    "webhook_delivery.replayed": "sent a webhook delivery again",
    "event.retried": "retried a stuck event",
    "event.skipped": "skipped a stuck event",
}
WHO = {"tenant_admin": "", "operator": "Rollcall support", "cli": "Rollcall (command line)", "system": "Rollcall"}
JOB_WORDS = {
    "remap_users": "re-mapping every user after a mapping change",
    "audit_export": "CSV export of admin changes",
    "request_log_export": "CSV export of SCIM requests",
    "deactivate_connection_users": "deactivating a deleted connection's users",
}
EXPORT_KINDS = {"requests": JobKind.REQUEST_LOG_EXPORT, "audit": JobKind.AUDIT_EXPORT}


def audit_detail(row: AuditEvent) -> str:
    """The audit row's data in a few words (what changed), never secrets (the log holds none)."""
    data = row.data or {}
    if row.type == "attribute_mapping.changed":
        changes = data.get("changes") or []
        return "; ".join(f"{c.get('field')}: {path_label(c.get('before') or '') or 'empty'} → {path_label(c.get('after') or '') or 'empty'}" for c in changes[:4])
    if row.type in {"role_mapping.changed", "default_role.changed", "role.granted_manually"}:
        return f"{data.get('previous_role') or 'no role'} → {data.get('role') or 'no role'}"
    if row.type in {"token.issued", "token.rotated", "token.revoked"}:
        return f"token {data.get('prefix', '')}…"
    if row.type == "connection.renamed":
        return f"{data.get('before', '')} → {data.get('after', '')}"
    if row.type == "connection.deleted":
        users = {"keep": "users kept", "deactivate": "users deactivated"}.get(str(data.get("users")), "")
        return f"{data.get('name', '')}{' · ' + users if users else ''}"
    if row.type in {"admin.invited", "admin.removed"}:
        return str(data.get("email", ""))
    if row.type == "job.requested":
        return JOB_WORDS.get(str(data.get("kind", "")), str(data.get("kind", "")).replace("_", " "))
    if row.type == "role.created":
        return str(data.get("name", ""))
    if row.type == "roles.reordered":
        return " > ".join(data.get("order") or [])
    return ""


class AuditView(ActivityExports):
    """/portal/activity/audit: the admin audit log of this tenant (who changed which mapping, token,
    admin, when, from where), newest first, keyset-paged; CSV export of a time range as a job."""

    tab = "audit"

    def get(self, request: HttpRequest) -> HttpResponseBase:
        if (early := self.exports_get(request)) is not None:
            return early
        before = _audit_cursor(request.GET.get("before", ""))
        rows = recent_audit_events(AuditWindow(tenant_id=str(self.tenant.pk)), before=before, limit=PAGE + 1)
        more = len(rows) > PAGE
        rows = rows[:PAGE]
        entries = [
            {
                "row": r,
                "who": r.actor_label or r.actor_id if r.actor_kind == "tenant_admin" else WHO.get(r.actor_kind, r.actor_kind),
                "staff": r.actor_kind == "operator",
                "what": AUDIT_SENTENCES.get(r.type, r.type),
                "detail": audit_detail(r),
            }
            for r in rows
        ]
        last = rows[-1] if rows else None
        context = {
            **self.export_context(request),
            "tenant": self.tenant,
            "nav": "activity",
            "tab": "audit",
            "entries": entries,
            "next_before": f"{last.occurred_at.isoformat()}|{last.pk}" if more and last else "",
            "first_page": before is None,
            "support_access": support_access_log(tenant=self.tenant, limit=10) if before is None else [],
        }
        return render(request, "portal/activity/audit.html", context)


def _audit_cursor(raw: str) -> tuple[datetime, int] | None:
    moment, _, pk = raw.partition("|")
    try:
        return datetime.fromisoformat(moment), int(pk)
    except ValueError:
        return None
