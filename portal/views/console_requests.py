"""Console: a tenant's SCIM request log explorer (filters, keyset pages, streamed CSV/JSON export) and
one request's detail: the redacted bodies, the quirks Rollcall normalised, the events it produced and,
for a refused request, what fixes it. The filters are the portal's (`request_filter`) plus the
operator's extras, all compiled by the one selector (scim_api.selectors.RequestFilter)."""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseBase, QueryDict, StreamingHttpResponse
from django.shortcuts import render

from console.explain import rejection_fix
from directory.models import DirectoryGroup, DirectoryUser
from directory.selectors import parse_id
from portal.views.activity import METHODS, _int, _tail, outcome_title, request_filter
from portal.views.base import Permission
from portal.views.console_base import TenantOperatorView
from scim.quirks import describe
from scim_api.export import REQUEST_LOG_COLUMNS
from scim_api.models import RequestLog
from scim_api.selectors import RequestFilter, events_of_requests, filtered_request_rows, request_page
from tenants.audit import csv_line
from tenants.connections import connections_of
from tenants.context import TenantRef, tenant_schema

STATUSES = (("2xx", "2xx (succeeded)"), ("4xx", "4xx (refused)"), ("401", "401 (unauthorized)"), ("5xx", "5xx (failed)"))
SCIM_TYPES = (
    "invalidValue", "invalidSyntax", "invalidPath", "noTarget", "invalidFilter",
    "uniqueness", "mutability", "tooMany", "sensitive", "invalidVers",
)  # fmt: skip
FILTER_KEYS = ("connection", "method", "status", "scim_type", "resource", "who", "text", "min_latency", "since", "until", "errors")
EXPORT_COLUMNS = (*REQUEST_LOG_COLUMNS, "response_body")
PAGE = 50


@dataclasses.dataclass(frozen=True)
class Subject:
    """The user or group the "who" filter named."""

    kind: str  # "User" | "Group"
    id: str
    label: str


def _subject(who: str) -> Subject | None:
    """A user (id, userName) or a group (id, displayName) of the current tenant schema."""
    pk = parse_id(who)
    users = DirectoryUser.objects.only("id", "user_name")
    user = users.filter(pk=pk).first() if pk else users.filter(user_name__iexact=who).first()
    if user is not None:
        return Subject("User", str(user.pk), user.user_name)
    groups = DirectoryGroup.objects.only("id", "display_name")
    group = groups.filter(pk=pk).first() if pk else groups.filter(display_name__iexact=who).first()
    if group is not None:
        return Subject("Group", str(group.pk), group.display_name)
    return None


def console_request_filter(query: QueryDict) -> tuple[RequestFilter, dict[str, str], Subject | None]:
    """The portal's filters of the query string plus the console's: scimType, who (user or group),
    text in the body, minimum latency, only errors. Field errors for what does not parse."""
    base = query.copy()
    base.pop("user", None)  # the console names users and groups in "who"
    filters, errors, _user = request_filter(base)
    scim_type = query.get("scim_type", "").strip()
    if scim_type and scim_type not in SCIM_TYPES:
        errors["scim_type"] = "Choose a scimType from the list."
        scim_type = ""
    min_latency: float | None = None
    raw_latency = query.get("min_latency", "").strip()
    if raw_latency:
        try:
            min_latency = float(raw_latency)
            if min_latency < 0 or min_latency != min_latency:
                raise ValueError
        except ValueError:
            errors["min_latency"] = "Enter a number of milliseconds, such as 250."
            min_latency = None
    subject: Subject | None = None
    who = query.get("who", "").strip()[:512]
    if who:
        subject = _subject(who)
        if subject is None:
            errors["who"] = "No user or group with that id, userName or group name."
    filters = dataclasses.replace(
        filters,
        resource=subject.kind if subject else filters.resource,
        resource_id=subject.id if subject else "",
        scim_type=scim_type,
        body_text=query.get("text", "").strip()[:200],
        min_latency_ms=min_latency,
        errors_only=query.get("errors") == "1",
    )
    return filters, errors, subject


class TenantRequestsView(TenantOperatorView):
    """/console/tenants/<slug>/requests: the log, newest first, keyset-paged (`before`); `?export=csv|json`
    streams every filtered row."""

    tab = "requests"
    permissions = {"GET": Permission.VIEW, "HEAD": Permission.VIEW}

    def get(self, request: HttpRequest, slug: str) -> HttpResponseBase:
        filters, errors, subject = console_request_filter(request.GET)
        export = request.GET.get("export", "")
        if export in {"csv", "json"} and not errors:
            return self.export(filters, export)
        before = _int(request.GET.get("before"))
        rows, next_before = request_page(filters, before_id=before, limit=PAGE)
        events = events_of_requests(rows)
        names = {c.id: c.name or c.idp for c in connections_of(self.tenant)}
        items = [
            {
                "row": row,
                "path": _tail(row),
                "connection": names.get(row.connection_id, "Deleted connection"),
                "events": events.get(row.request_id, []),
                "title": outcome_title(events.get(row.request_id, []), ""),
                "fix": rejection_fix(row.status, row.scim_type) if row.status >= 400 else "",
            }
            for row in rows
        ]
        params = request.GET.copy()
        for key in ("before", "export"):
            params.pop(key, None)
        context = self.tenant_context(
            items=items,
            errors=errors,
            query=request.GET,
            subject=subject,
            connections=names,
            methods=METHODS,
            statuses=STATUSES,
            scim_types=SCIM_TYPES,
            filtered=any(request.GET.get(k) for k in FILTER_KEYS),
            next_query=f"{params.urlencode()}&before={next_before}" if next_before else "",
            first_page=before is None,
            base_query=params.urlencode(),
        )
        return render(request, "console/requests/list.html", context, status=400 if errors else 200)

    def export(self, filters: RequestFilter, fmt: str) -> StreamingHttpResponse:
        # The body is iterated after the view returned (and its schema was restored): the stream
        # activates the tenant's schema itself.
        stream = _stream(TenantRef.of(self.tenant), filters, fmt)
        content_type = "text/csv; charset=utf-8" if fmt == "csv" else "application/json"
        response = StreamingHttpResponse(stream, content_type=content_type)
        response["Content-Disposition"] = f'attachment; filename="{self.tenant.slug}-scim-requests.{fmt}"'
        return response


def _stream(tenant: TenantRef, filters: RequestFilter, fmt: str) -> Iterator[bytes]:
    with tenant_schema(tenant):
        if fmt == "csv":
            yield csv_line(EXPORT_COLUMNS)
        else:
            yield b"["
        for index, row in enumerate(filtered_request_rows(filters)):
            values = dict(zip(EXPORT_COLUMNS, row, strict=True))
            values["received_at"] = values["received_at"].isoformat()
            if fmt == "csv":
                values["quirks"] = " ".join(values["quirks"] or [])
                for key in ("request_body", "response_body"):
                    body = values[key]
                    values[key] = "" if body is None else json.dumps(body, sort_keys=True, separators=(",", ":"))
                yield csv_line(values.values())
            else:
                yield (",\n" if index else "\n").encode() + json.dumps(values, sort_keys=True, default=str).encode()
        if fmt == "json":
            yield b"\n]\n"


class TenantRequestView(TenantOperatorView):
    """/console/tenants/<slug>/requests/<pk>: one request, redacted, with its quirks, events and fix."""

    tab = "requests"
    permissions = {"GET": Permission.VIEW, "HEAD": Permission.VIEW}

    def get(self, request: HttpRequest, slug: str, pk: int) -> HttpResponse:
        inline = bool(getattr(request, "htmx", False))
        if inline and request.GET.get("part") == "none":
            return HttpResponse("")  # the log's "Hide": the expanded row empties again
        row = RequestLog.objects.filter(pk=pk).first()
        if row is None:
            raise Http404("no such request")
        events = events_of_requests([row]).get(row.request_id, [])
        names = {c.id: c.name or c.idp for c in connections_of(self.tenant)}
        context = self.tenant_context(
            row=row,
            path=_tail(row),
            connection=names.get(row.connection_id, "Deleted connection"),
            title=outcome_title(events, ""),
            fix=rejection_fix(row.status, row.scim_type) if row.status >= 400 else "",
            quirks=[(q, describe(q)) for q in row.quirks or []],
            events=events,
            who=row.resource_id if row.resource_type == "User" else "",
            inline=inline,
        )
        template = "console/requests/_detail.html" if inline else "console/requests/detail.html"
        return render(request, template, context)

