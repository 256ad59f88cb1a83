"""Wizard step 7: a checklist that follows one test user through the lifecycle, from what really happened.

Each row ticks when the IdP's request arrived and the pipeline applied it, read from the outbox
(the events about the user, with the request id of the request that caused them), the request log
(that request: method, path, status, time) and the directory (the user's fields and role now, the
offboarding record with its latency). Nothing here writes except `record_verified` when all is done.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from directory.models import DirectoryUser, OffboardingRecord, Role, RoleGrant
from outbox.models import Event
from outbox.selectors import events_about_user
from scim_api.models import RequestLog
from scim_api.selectors import requests_by_id

CANDIDATES = 20


@dataclass(frozen=True)
class SeenRequest:
    method: str
    path: str  # after the connection's base URL
    status: int
    received_at: datetime


@dataclass
class CheckRow:
    key: str
    title: str  # what to do in the IdP
    done_title: str  # what happened, once it did
    hint: str = ""
    state: str = "todo"  # todo | waiting (received, being applied) | done
    request: SeenRequest | None = None
    result: str = ""
    facts: list[str] = field(default_factory=list)
    at: datetime | None = None

    @property
    def done(self) -> bool:
        return self.state == "done"


@dataclass(frozen=True)
class Verification:
    user: DirectoryUser | None
    rows: list[CheckRow]
    candidates: list[DirectoryUser]

    @property
    def done(self) -> bool:
        return bool(self.rows) and all(r.done for r in self.rows)

    @property
    def user_label(self) -> str:
        """How the checklist names the test user: display name, else given and family name, else userName."""
        if self.user is None:
            return ""
        full = " ".join(p for p in (self.user.given_name, self.user.family_name) if p)
        return self.user.display_name or full or self.user.user_name

    @property
    def done_count(self) -> int:
        return sum(1 for r in self.rows if r.done)


def candidates_for(connection_id: str) -> list[DirectoryUser]:
    """The connection's users, oldest first (the live check's first user leads): who may be the test user."""
    return list(
        DirectoryUser.objects.filter(source_connection_id=connection_id, kind=DirectoryUser.Kind.HUMAN)
        .order_by("created", "id")
        .only("id", "user_name", "display_name", "given_name", "family_name", "active", "created")[:CANDIDATES]
    )


def _rows(idp_name: str) -> list[CheckRow]:
    where = f"in {idp_name}"
    return [
        CheckRow("created", f"Assign a test user to the app {where}", "Created"),
        CheckRow("updated", "Change one of their attributes, such as the job title", "Updated"),
        CheckRow("group_added", "Push a group that contains them", "Added to a group"),
        CheckRow("group_removed", "Remove them from that group", "Removed from the group"),
        CheckRow("deactivated", f"Deactivate them, or unassign them from the app {where}", "Access removed"),
        CheckRow("reactivated", "Reactivate them (assign them again)", "Reactivated"),
    ]


def _tail(connection_id: str, path: str) -> str:
    prefix = f"/scim/v2/{connection_id}"
    return (path[len(prefix) :] or "/") if path.startswith(prefix) else path


def _request(row: RequestLog | None, connection_id: str) -> SeenRequest | None:
    if row is None:
        return None
    return SeenRequest(row.method, _tail(connection_id, row.path), row.status, row.received_at)


def _first(events: Sequence[Event], kind: str, after: int = 0, *, where: Any = None) -> Event | None:
    return next((e for e in events if e.type == kind and e.seq > after and (where is None or where(e))), None)


def _tick(row: CheckRow, event: Event | None, requests: dict[str, RequestLog], connection_id: str) -> bool:
    """Mark the row from its event: waiting while the pipeline has not applied it, done after."""
    if event is None:
        return False
    row.request = _request(requests.get(event.request_id), connection_id)
    row.at = event.occurred_at
    row.state = "done" if event.handled_at is not None else "waiting"
    return True


def _group_round_trip(events: Sequence[Event], after: int) -> tuple[Event | None, Event | None]:
    """The first time the user was added to a group and later removed from the same group; else the
    first addition (the removal still to come)."""
    additions = [e for e in events if e.type == "group.member_added" and e.seq > after]
    for added in additions:
        removed = _first(events, "group.member_removed", added.seq, where=lambda e, g=added.resource_id: e.resource_id == g)
        if removed is not None:
            return added, removed
    return (additions[0] if additions else None), None


def _role_after(events: Sequence[Event], seq: int) -> str | None:
    change = _first(events, "role.changed", seq)
    return (change.payload or {}).get("role") if change else None


def verification(*, connection_id: str, idp_name: str, test_user_id: str) -> Verification:
    """The checklist for the test user (the connection's first user when none was chosen)."""
    candidates = candidates_for(connection_id)
    rows = _rows(idp_name)
    pk = _uuid(test_user_id)
    user: DirectoryUser | None = None
    if pk is not None:
        user = DirectoryUser.objects.filter(pk=pk, source_connection_id=connection_id).first()
    if user is None and candidates:
        user = DirectoryUser.objects.filter(pk=candidates[0].pk).first()
    if user is None:
        return Verification(user=None, rows=rows, candidates=candidates)
    events = events_about_user(str(user.pk))
    request_ids = {e.request_id for e in events if e.request_id}
    group_ids = sorted({e.resource_id for e in events if e.resource_type == "Group"})
    requests = {
        **requests_by_id("User", [str(user.pk)], request_ids),
        **requests_by_id("Group", group_ids, request_ids),
    }
    by_key = {r.key: r for r in rows}
    names = dict(Role.objects.values_list("key", "name"))

    def role_name(key: str | None) -> str | None:
        return names.get(key, key) if key else None

    created = _first(events, "user.created")
    if _tick(by_key["created"], created, requests, connection_id):
        assert created is not None
        payload = (created.payload or {}).get("user", {})
        name = " ".join(p for p in (payload.get("given_name"), payload.get("family_name")) if p)
        by_key["created"].result = ", ".join(p for p in (name, payload.get("email")) if p) or user.user_name
        grant = RoleGrant.objects.select_related("role").filter(user_id=user.pk).first()
        if grant is not None:
            by_key["created"].facts = [f"Role now: {grant.role.name}"]
        else:
            by_key["created"].facts = ["No role while deactivated" if not user.active else "No role yet: map a group or set a default role"]
    else:
        grant = None
    after = created.seq if created else 0

    updated = _first(events, "user.updated", after, where=lambda e: bool((e.payload or {}).get("changed")))
    if _tick(by_key["updated"], updated, requests, connection_id):
        assert updated is not None
        fields = (updated.payload or {}).get("changed_fields") or (updated.payload or {}).get("changed") or []
        by_key["updated"].result = "Changed: " + ", ".join(str(f).replace("_", " ") for f in fields)

    added, removed = _group_round_trip(events, after)
    if _tick(by_key["group_added"], added, requests, connection_id):
        assert added is not None
        group = ((added.payload or {}).get("group") or {}).get("display_name", "a group")
        by_key["group_added"].result = f"Member of {group}"
        role = role_name(_role_after(events, added.seq))
        if role:
            by_key["group_added"].facts = [f"Role now: {role}"]
        if _tick(by_key["group_removed"], removed, requests, connection_id):
            by_key["group_removed"].result = f"No longer in {group}"

    deactivated = _first(events, "user.deactivated", after)
    if deactivated is not None:
        _tick(by_key["deactivated"], deactivated, requests, connection_id)
        record = OffboardingRecord.objects.filter(seq=deactivated.seq).first()
        row = by_key["deactivated"]
        if record is None:
            row.state = "waiting"
            row.result = "Deactivated; removing access…"
        else:
            row.state = "done"
            row.result = f"Access removed {record.latency_seconds:.1f} s after the request"
            row.facts = [
                f"{record.sessions_revoked} app session{'s' if record.sessions_revoked != 1 else ''} ended",
                f"{record.tokens_revoked} API token{'s' if record.tokens_revoked != 1 else ''} revoked",
                "Role removed" if record.grants_removed else "No role to remove",
            ]
        reactivated = _first(events, "user.reactivated", deactivated.seq)
        if _tick(by_key["reactivated"], reactivated, requests, connection_id):
            assert reactivated is not None
            by_key["reactivated"].result = "Active again"
            by_key["reactivated"].facts = [f"Role: {grant.role.name}" if grant else "No role"]
    return Verification(user=user, rows=rows, candidates=candidates)


def _uuid(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except (ValueError, TypeError):
        return None
