"""Console: a person's provisioning history in a tenant with the verdict on top (console.timeline).

Search by email, userName, externalId or id; a unique match (or a chosen person, `?person=<id>`)
shows their timeline; several matches show a picker; nobody a clear empty state."""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from console.timeline import PersonNotFound, RequestEntry, UserTimeline, find_people, user_timeline
from console.verdict import VerdictCode
from portal.views.base import Permission
from portal.views.console_base import TenantOperatorView
from scim_api.selectors import request_log_pks
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
            else:
                context["people"] = people
        return render(request, "console/timeline/people.html", self.tenant_context(**context))

    def timeline_context(self, timeline: UserTimeline) -> dict[str, Any]:
        requests = [e for e in timeline.entries if isinstance(e, RequestEntry)]
        return {
            "timeline": timeline,
            "person": timeline.person,
            "verdict": timeline.verdict,
            "verdict_tone": VERDICT_TONES.get(timeline.verdict.code, "info"),
            "request_pks": request_log_pks([(r.request_id, r.at) for r in requests if r.request_id]),
        }
