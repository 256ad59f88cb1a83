"""The deprovisioning verdict: the first explanation that fits a person's timeline.

(a) the IdP never sent a deactivation; (b) it sent one and Rollcall rejected it; (c) Rollcall accepted
it but nothing changed; (d) the change was applied but an event is still undelivered or failing;
(e) everything was delivered; (f) the person was re-provisioned afterwards. Pure: it reads
`TimelineFacts` (console.timeline) and writes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import TYPE_CHECKING

from console.explain import rejection_fix
from console.intent import Intent
from outbox.event_types import EventType
from scim.idp import get_profile

if TYPE_CHECKING:
    from console.timeline import ConnectionInfo, DeliveryEntry, EventEntry, RequestEntry, TimelineFacts

TAKING_AWAY = (EventType.USER_DEACTIVATED.value, EventType.USER_DELETED.value)
GIVING_BACK = (EventType.USER_REACTIVATED.value, EventType.USER_CREATED.value)


class VerdictCode(StrEnum):
    NEVER_SENT = "never_sent"  # (a)
    REJECTED = "rejected"  # (b)
    NO_CHANGE = "no_change"  # (c)
    UNDELIVERED = "undelivered"  # (d)
    DELIVERED = "delivered"  # (e)
    REPROVISIONED = "reprovisioned"  # (f)
    UNEXPLAINED = "unexplained"  # nothing above fits (e.g. created inactive)

    @property
    def letter(self) -> str:
        return {
            VerdictCode.NEVER_SENT: "a",
            VerdictCode.REJECTED: "b",
            VerdictCode.NO_CHANGE: "c",
            VerdictCode.UNDELIVERED: "d",
            VerdictCode.DELIVERED: "e",
            VerdictCode.REPROVISIONED: "f",
        }.get(self, "")


@dataclass(frozen=True)
class Verdict:
    code: VerdictCode
    title: str
    explanation: str
    fix: str = ""
    hints: tuple[str, ...] = ()
    at: datetime | None = None  # when the deciding thing happened
    request_id: str = ""  # the deciding request, if one
    seq: int | None = None  # the deciding event, if one
    details: dict[str, object] = field(default_factory=dict)


def _when(moment: datetime | None) -> str:
    return f"{moment:%Y-%m-%d %H:%M:%S} UTC" if moment else "never"


def _idp_of(facts: TimelineFacts, connection_id: str) -> ConnectionInfo | None:
    return facts.connections.get(connection_id)


def _never_sent(facts: TimelineFacts) -> Verdict:
    last = facts.requests[-1] if facts.requests else None
    connection = _idp_of(facts, facts.person.source_connection_id) or (
        _idp_of(facts, last.connection_id) if last else None
    )
    hints: list[str] = []
    removals = [r for r in facts.requests if r.intent is Intent.GROUP_REMOVE and r.accepted]
    if removals:
        hints.append(
            f"The IdP removed this person from a group at {_when(removals[-1].at)} but never sent a "
            "deactivation: removing a group member does not take app access away by itself."
        )
    if connection is not None:
        try:
            profile = get_profile(connection.idp)
        except KeyError:
            profile = None
        if profile is not None:
            hints.extend(profile.deprovision_hints)
            if profile.sync_cycle_minutes and connection.last_request_at is not None:
                since = facts.now - connection.last_request_at
                cycle = timedelta(minutes=profile.sync_cycle_minutes)
                if since < cycle:
                    hints.append(
                        f"{profile.name}'s last request on this connection was {int(since.total_seconds() // 60)} "
                        f"minutes ago; its next cycle is due around {_when(connection.last_request_at + cycle)}."
                    )
    return Verdict(
        VerdictCode.NEVER_SENT,
        "The IdP never sent a deactivation",
        f"Rollcall received no request to deactivate or delete {facts.person.user_name or facts.person.id}. "
        f"The last request about them arrived {_when(last.at if last else None)}.",
        fix="Deactivate or unassign the person in the IdP (and check the hints below for why it did not).",
        hints=tuple(hints),
        at=last.at if last else None,
        request_id=last.request_id if last else "",
    )


def _shown_path(path: str) -> str:
    """The path after the connection (/Users/<id>): the connection is named elsewhere on the page."""
    match = re.search(r"/(Users|Groups|Bulk)(/.*)?$", path, flags=re.IGNORECASE)
    return match.group(0) if match else path


def _rejected(facts: TimelineFacts, request: RequestEntry) -> Verdict:
    detail = request.error_detail or f"HTTP {request.status}"
    return Verdict(
        VerdictCode.REJECTED,
        "The IdP sent a deactivation and Rollcall rejected it",
        f"{request.method} {_shown_path(request.path)} at {_when(request.at)} was answered {request.status}"
        f"{' (' + request.scim_type + ')' if request.scim_type else ''}: {detail}",
        fix=rejection_fix(request.status, request.scim_type),
        at=request.at,
        request_id=request.request_id,
        details={"status": request.status, "scim_type": request.scim_type, "body": request.body},
    )


def _no_change(facts: TimelineFacts, request: RequestEntry) -> Verdict:
    if request.intent is Intent.CLEAR_ACTIVE:
        why = (
            "It removed the active attribute instead of setting it to false; in SCIM a user without "
            "active is active."
        )
        fix = "Configure the IdP to send active=false (PATCH replace) or DELETE when access is removed."
    else:
        why = "It named active, but the user's active state did not change (the value was not read as false)."
        fix = "Check the IdP's mapping for active: it must send the boolean false (or the string \"false\")."
    return Verdict(
        VerdictCode.NO_CHANGE,
        "Rollcall accepted the deactivation but nothing changed",
        f"{request.method} {_shown_path(request.path)} at {_when(request.at)} was answered {request.status}. {why}",
        fix=fix,
        at=request.at,
        request_id=request.request_id,
        details={"body": request.body, "quirks": list(request.quirks)},
    )


def _problems(facts: TimelineFacts, taken: EventEntry) -> list[str]:
    """What is still undone about the deactivation event and the offboarding that follows it."""
    related = [taken] + [
        e
        for e in facts.events
        if e.type == EventType.USER_ACCESS_REVOKED.value and e.payload.get("cause_seq") == taken.seq
    ]
    problems: list[str] = []
    for event in related:
        if event.parked:
            problems.append(f"event {event.seq} ({event.type}) is parked after failing: {event.last_error or 'see the outbox'}")
        elif event.handled_at is None and event.last_error:
            retry = f"; next retry {_when(event.retry_at)}" if event.retry_at else ""
            problems.append(
                f"event {event.seq} ({event.type}) failed {event.attempts} time(s) in a handler: {event.last_error}{retry}"
            )
        elif event.handled_at is None:
            waited = int((facts.now - event.at).total_seconds())
            problems.append(f"event {event.seq} ({event.type}) is waiting in the outbox ({waited} s so far)")
    seqs = {e.seq for e in related}
    types = {e.seq: e.type for e in related}
    for delivery in facts.deliveries:
        if delivery.seq not in seqs or delivery.succeeded:
            continue
        problems.append(f"event {delivery.seq} ({types[delivery.seq]}): {_delivery_problem(delivery)}")
    return problems


def _delivery_problem(delivery: DeliveryEntry) -> str:
    last = delivery.attempt_log[-1] if delivery.attempt_log else None
    outcome = (
        f"last attempt {last.status_code or 'no response'}{' (' + last.error + ')' if last and last.error else ''} "
        f"in {last.duration_ms:.0f} ms"
        if last
        else "not attempted yet"
    )
    if delivery.status == "dead":
        return f"the webhook to {delivery.endpoint_url} is dead-lettered after {delivery.total_attempts} attempts ({outcome}); replay it"
    retry = f", next retry {_when(delivery.next_attempt_at)}" if delivery.next_attempt_at else ""
    return f"the webhook to {delivery.endpoint_url} is {delivery.status} ({outcome}{retry})"


def _undelivered(taken: EventEntry, problems: list[str]) -> Verdict:
    return Verdict(
        VerdictCode.UNDELIVERED,
        "Deactivated in Rollcall, but not everything was delivered",
        f"Rollcall applied {taken.type} (event {taken.seq}) at {_when(taken.at)}, but "
        + "; ".join(problems)
        + ".",
        fix="Fix the failing endpoint or handler, then replay the delivery or retry the event.",
        at=taken.at,
        seq=taken.seq,
        details={"problems": problems},
    )


def _delivered(facts: TimelineFacts, taken: EventEntry) -> Verdict:
    deliveries = [d for d in facts.deliveries if d.succeeded]
    record = next((o for o in facts.offboarding if o.seq == taken.seq), None)
    parts = [f"Rollcall applied {taken.type} (event {taken.seq}) at {_when(taken.at)}"]
    if record is not None:
        parts.append(
            f"offboarding finished {record.latency_seconds:.1f} s after the request arrived (sessions revoked: "
            f"{record.sessions_revoked}, API tokens revoked: {record.tokens_revoked}, role grants removed: "
            f"{record.grants_removed}, agents torn down: {record.agents_torn_down})"
        )
    if deliveries:
        last = max(d.delivered_at for d in deliveries if d.delivered_at) if any(d.delivered_at for d in deliveries) else None
        endpoints = sorted({d.endpoint_url for d in deliveries})
        parts.append(f"webhooks delivered to {', '.join(endpoints)} (last at {_when(last)})")
    else:
        parts.append("no webhook endpoint wanted the event")
    return Verdict(
        VerdictCode.DELIVERED,
        "Deprovisioned and delivered",
        "; ".join(parts) + ".",
        fix="If the app still shows the person, its webhook consumer received the event but did not act on it.",
        at=taken.at,
        seq=taken.seq,
    )


def _reprovisioned(facts: TimelineFacts, taken: EventEntry, back: EventEntry) -> Verdict:
    request = next((r for r in facts.requests if back.request_id and r.request_id == back.request_id), None)
    who = back.actor
    if back.actor.startswith("scim:"):
        connection = facts.connections.get(back.actor.removeprefix("scim:"))
        who = f"the {connection.idp} connection {connection.name or connection.id}" if connection else back.actor
    how = f" with {request.method} {_shown_path(request.path)}" if request else ""
    return Verdict(
        VerdictCode.REPROVISIONED,
        "Re-provisioned after the deactivation",
        f"Deactivated by event {taken.seq} at {_when(taken.at)}, then {back.type} (event {back.seq}) at "
        f"{_when(back.at)} by {who}{how}.",
        fix="Find out why the IdP sent the person again (another assignment, group or a duplicate in the IdP).",
        at=back.at,
        seq=back.seq,
        request_id=back.request_id,
        details={"by": who},
    )


def decide_verdict(facts: TimelineFacts) -> Verdict:
    """The first of (a)-(f) that fits."""
    attempts = [r for r in facts.requests if r.intent is not None and r.intent.takes_access_away]
    taken_events = [e for e in facts.events if e.type in TAKING_AWAY and e.resource_id == facts.person.id]
    currently_deprovisioned = facts.person.active is not True
    if not attempts:
        if not taken_events and not currently_deprovisioned:
            return _never_sent(facts)
        # Deactivated without a logged request (by an admin or before the log's look-back): see below.
    else:
        latest = attempts[-1]
        applied_after = [e for e in taken_events if e.at >= latest.at or (latest.request_id and e.request_id == latest.request_id)]
        if not currently_deprovisioned and not applied_after:
            if not latest.accepted:
                return _rejected(facts, latest)
            return _no_change(facts, latest)
    if not taken_events and not facts.person.exists and not any(e.type == EventType.USER_CREATED.value for e in facts.events):
        return Verdict(
            VerdictCode.UNEXPLAINED,
            "Not a user Rollcall knows",
            f"Rollcall never created a user with id {facts.person.id}; the IdP only named it in group changes "
            "(see the requests below). The IdP may hold a stale id from another system or connection.",
            fix="Re-push the user from the IdP so that it creates them and learns their Rollcall id.",
        )
    if not taken_events:
        return Verdict(
            VerdictCode.UNEXPLAINED,
            "No deactivation on record",
            "The person is not active, but no deactivation event is recorded (created inactive, or older "
            "than the outbox keeps).",
        )
    taken = taken_events[-1]
    problems = _problems(facts, taken)
    if problems:
        return _undelivered(taken, problems)
    back = next((e for e in facts.events if e.type in GIVING_BACK and e.seq > taken.seq and e.resource_id == facts.person.id), None)
    if back is None:
        return _delivered(facts, taken)
    return _reprovisioned(facts, taken, back)
