"""A user's lifecycle for the user page: every request and event about them, with times, in words.

Reads the console's user timeline (console.timeline: requests, events, webhook deliveries, the
offboarding record, and the verdict that explains the user's state) and turns its entries into rows
an IT admin reads. Handler runs are the pipeline's bookkeeping and are left out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from console.timeline import (
    DeliveryEntry,
    EventEntry,
    OffboardingEntry,
    PersonNotFound,
    RequestEntry,
    UserTimeline,
)
from console.timeline import user_timeline as read_timeline
from console.verdict import Verdict, VerdictCode
from directory.models import DirectoryUser
from portal.explain import explain_request
from tenants.context import TenantRef
from tenants.models import Tenant

# Verdicts worth an IT admin's attention on the user page (the others restate the timeline).
WORTH_SHOWING = frozenset({VerdictCode.REJECTED, VerdictCode.NO_CHANGE, VerdictCode.UNDELIVERED, VerdictCode.REPROVISIONED})


@dataclass(frozen=True)
class TimelineRow:
    at: datetime
    kind: str  # request | event | offboarding | delivery
    title: str
    detail: str = ""
    tone: str = ""  # badge tone: ok | warning | error | ""
    badge: str = ""
    mono: bool = False


@dataclass(frozen=True)
class UserLifecycle:
    rows: list[TimelineRow]
    verdict: Verdict | None
    truncated: bool


def _tail(entry: RequestEntry) -> str:
    prefix = f"/scim/v2/{entry.connection_id}"
    path = entry.path[len(prefix) :] if entry.path.startswith(prefix) else entry.path
    return (path or "/") + (f"?{entry.query}" if entry.query else "")


def _request_row(entry: RequestEntry) -> TimelineRow:
    explained = explain_request(
        {"status": entry.status, "method": entry.method, "path": entry.path, "scim_type": entry.scim_type,
         "error_detail": entry.error_detail, "resource_id": "x"},
    )
    detail = explained.fix if explained.tone != "ok" else ", ".join(q.replace("_", " ") for q in entry.quirks)
    return TimelineRow(
        at=entry.at,
        kind="request",
        title=f"{entry.method} {_tail(entry)}",
        detail=(f"{explained.title}. {detail}" if detail else explained.title),
        tone=explained.tone,
        badge=str(entry.status),
        mono=True,
    )


def _event_row(entry: EventEntry, user_id: str) -> TimelineRow:
    payload = entry.payload or {}
    detail = ""
    if entry.type == "user.updated":
        fields = payload.get("changed_fields") or payload.get("changed") or []
        cause = " (attribute mapping changed)" if payload.get("cause") == "attribute_mapping" else ""
        detail = ("Changed: " + ", ".join(str(f).replace("_", " ") for f in fields) + cause) if fields else ""
    elif entry.type == "role.changed":
        before, after = payload.get("previous_role") or "no role", payload.get("role") or "no role"
        source = str(payload.get("source") or "")
        why = {"default": " (default role)", "manual": " (set by hand)"}.get(source, " (from a group)" if source.startswith("group:") else "")
        detail = f"{before} → {after}{why}"
    elif entry.type in {"group.member_added", "group.member_removed"}:
        group = (payload.get("group") or {}).get("display_name", "a group")
        detail = f"{'Added to' if entry.type.endswith('added') else 'Removed from'} {group}"
    elif entry.type == "group.deleted":
        detail = f"Group {(payload.get('group') or {}).get('display_name', '')} deleted"
    waiting = entry.handled_at is None
    return TimelineRow(
        at=entry.at,
        kind="event",
        title=entry.type,
        detail=detail,
        tone="warning" if waiting else "",
        badge="waiting" if waiting else "",
        mono=True,
    )


def _offboarding_row(entry: OffboardingEntry) -> TimelineRow:
    parts = [
        f"{entry.sessions_revoked} session{'s' if entry.sessions_revoked != 1 else ''} ended",
        f"{entry.tokens_revoked} token{'s' if entry.tokens_revoked != 1 else ''} revoked",
        "role removed" if entry.grants_removed else "no role to remove",
    ]
    if entry.agents_torn_down:
        parts.append(f"{entry.agents_torn_down} agents torn down")
    return TimelineRow(
        at=entry.at, kind="offboarding", title=f"Access removed in {entry.latency_seconds:.1f} s",
        detail=", ".join(parts), tone="ok", badge="offboarded",
    )


def _delivery_row(entry: DeliveryEntry) -> TimelineRow:
    tone = "ok" if entry.succeeded else ("error" if entry.status == "dead" else "warning")
    return TimelineRow(
        at=entry.at, kind="delivery", title=f"Webhook {entry.event_type}",
        detail=f"to {entry.endpoint_url} · {entry.total_attempts} attempt{'s' if entry.total_attempts != 1 else ''}",
        tone=tone, badge=entry.status,
    )


def _rows(timeline: UserTimeline, user_id: str) -> list[TimelineRow]:
    rows: list[TimelineRow] = []
    for entry in timeline.entries:
        if isinstance(entry, RequestEntry):
            rows.append(_request_row(entry))
        elif isinstance(entry, EventEntry):
            rows.append(_event_row(entry, user_id))
        elif isinstance(entry, OffboardingEntry):
            rows.append(_offboarding_row(entry))
        elif isinstance(entry, DeliveryEntry):
            rows.append(_delivery_row(entry))
    return rows


def user_lifecycle(tenant: Tenant, user: DirectoryUser) -> UserLifecycle:
    """The user's history, oldest first, and a verdict when something needs explaining."""
    try:
        timeline = read_timeline(TenantRef.of(tenant), str(user.pk))
    except PersonNotFound:
        return UserLifecycle(rows=[], verdict=None, truncated=False)
    verdict = timeline.verdict if timeline.verdict.code in WORTH_SHOWING else None
    return UserLifecycle(rows=_rows(timeline, str(user.pk)), verdict=verdict, truncated=timeline.truncated)
