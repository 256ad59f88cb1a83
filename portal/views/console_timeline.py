"""Console: a person's provisioning history in a tenant with the verdict on top (console.timeline).

Search by email, userName, externalId or id; a unique match (or a chosen person, `?person=<id>`)
shows their timeline; several matches show a picker; nobody a clear empty state."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from console.intent import Intent
from console.timeline import PersonNotFound, RequestEntry, UserTimeline, find_people, user_timeline
from console.verdict import VerdictCode
from portal.views.base import Permission
from portal.views.console_base import TenantOperatorView
from scim_api.selectors import request_log_pks
from tenants.connections import connections_of
from tenants.context import TenantRef

# How the verdict card is coloured: what the operator should feel about it.
VERDICT_TONES = {
    VerdictCode.NEVER_SENT: "warning",
    VerdictCode.REJECTED: "error",
    VerdictCode.NO_CHANGE: "warning",
    VerdictCode.UNDELIVERED: "error",
    VerdictCode.DELIVERED: "ok",
    VerdictCode.REPROVISIONED: "info",
    VerdictCode.UNEXPLAINED: "info",
}

# What the person's IdP meant by a request, in the timeline's words.
INTENT_WORDS = {
    Intent.LOOKUP: "lookup",
    Intent.CREATE: "create",
    Intent.UPDATE: "update",
    Intent.DEACTIVATE: "deactivate",
    Intent.CLEAR_ACTIVE: "remove active (read as: stays active)",
    Intent.REACTIVATE: "reactivate",
    Intent.DELETE: "delete",
    Intent.GROUP_ADD: "add to a group",
    Intent.GROUP_REMOVE: "remove from a group",
    Intent.GROUP_OTHER: "group change",
}


class TenantPeopleView(TenantOperatorView):
    """/console/tenants/<slug>/people?q=...: find a person, read their timeline and its verdict."""

    tab = "people"
    permissions = {"GET": Permission.VIEW, "HEAD": Permission.VIEW}

    def get(self, request: HttpRequest, slug: str) -> HttpResponse:
        query = request.GET.get("q", "").strip()[:320]
        chosen = request.GET.get("person", "").strip()[:64]
        context: dict[str, Any] = {"q": query, "people": [], "timeline": None, "searched": bool(query or chosen)}
        if chosen or query:
            people = [] if chosen else find_people(query)
            if chosen or len(people) == 1:
                try:
                    timeline = user_timeline(TenantRef.of(self.tenant), chosen or people[0].id)
                except PersonNotFound:
                    timeline = None
                if timeline is not None:
                    context.update(self.timeline_context(timeline))
                    context["q"] = query or timeline.person.user_name or timeline.person.id
            else:
                context["people"] = people
        return render(request, "console/timeline/people.html", self.tenant_context(**context))

    def timeline_context(self, timeline: UserTimeline) -> dict[str, Any]:
        requests = [e for e in timeline.entries if isinstance(e, RequestEntry)]
        pks = request_log_pks([(r.request_id, r.at) for r in requests if r.request_id])
        names = {c.id: c.name or c.idp for c in connections_of(self.tenant)}
        return {
            "timeline": timeline,
            "person": timeline.person,
            "verdict": timeline.verdict,
            "verdict_tone": VERDICT_TONES.get(timeline.verdict.code, "info"),
            # per request id: its request-log row (for the detail link), its path after the connection, its intent
            "request_info": {
                r.request_id: {
                    "pk": pks.get(r.request_id),
                    "path": _tail(r.path, r.connection_id) + (f"?{r.query}" if r.query else ""),
                    "intent": INTENT_WORDS.get(r.intent, "") if r.intent else "",
                    "connection": names.get(r.connection_id, r.connection_id),
                }
                for r in requests
            },
            "actors": {f"scim:{cid}": f"{name} (SCIM)" for cid, name in names.items()},
        }


def _tail(path: str, connection_id: str) -> str:
    prefix = f"/scim/v2/{connection_id}"
    return (path[len(prefix) :] if path.startswith(prefix) else path) or "/"
