"""Workspace: Activity. The tenant's SCIM request log with filters, each request explained with the
quirks that were normalised and the events it produced; a request's detail with its redacted body."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import render

from directory.models import DirectoryUser
from directory.selectors import parse_id
from portal.explain import explain_request
from portal.views.base import TenantPortalView
from scim.idp import get_profile
from scim.quirks import describe
from scim_api.models import RequestLog
from scim_api.selectors import STATUS_CLASSES, RequestFilter, events_of_requests, request_page
from tenants.connections import connections_of

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


class ActivityView(ActivityBase):
    """/portal/activity: the request log, newest first, keyset-paged (`before`)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        filters, errors, user = request_filter(request.GET)
        before = _int(request.GET.get("before"))
        rows, next_before = request_page(filters, before_id=before)
        labels = self.labels()
        events = events_of_requests(rows)
        items = [
            {
                "row": row,
                "explanation": self.explained(row, labels),
                "connection": labels.get(row.connection_id, ("Deleted connection",))[0],
                "events": events.get(row.request_id, []),
                "path": _tail(row),
            }
            for row in rows
        ]
        params = request.GET.copy()
        params.pop("before", None)
        context = {
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
        context = {
            "tenant": self.tenant,
            "nav": "activity",
            "row": row,
            "path": _tail(row),
            "explanation": self.explained(row, labels),
            "connection": labels.get(row.connection_id, ("Deleted connection",))[0],
            "quirks": [(q, describe(q)) for q in row.quirks or []],
            "events": events_of_requests([row]).get(row.request_id, []),
            "user": user,
        }
        return render(request, "portal/activity/request.html", context)


def _tail(row: RequestLog) -> str:
    prefix = f"/scim/v2/{row.connection_id}"
    tail = row.path[len(prefix) :] if row.path.startswith(prefix) else row.path
    return (tail or "/") + (f"?{row.query}" if row.query else "")


def _int(raw: str | None) -> int | None:
    try:
        return int(raw) if raw else None
    except ValueError:
        return None


class AuditView(TenantPortalView):
    """/portal/activity/audit: the admin audit log of this tenant (who changed which mapping, token,
    admin, when, from where). Reads the shared audit log (tenants.audit)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        context = {"tenant": self.tenant, "nav": "activity", "tab": "audit", "entries": None}
        return render(request, "portal/activity/audit.html", context)
