"""A person's provisioning history in one tenant, in one ordered list, with a verdict above it.

Find them by email, userName, externalId or id (also when only a group PATCH ever named their id, or
when they were deleted and live on only in the event history). The timeline merges every SCIM
request that touched them (their own, group changes naming them, /Bulk operations), the outbox
events about them (as a user and as a group member), the handler runs, webhook deliveries with every
attempt, and the offboarding record. A bounded number of queries per person; text searches of
request bodies look back ROLLCALL_TIMELINE_DAYS days.
"""

from __future__ import annotations

import contextlib
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from django.db.models import Prefetch, Q
from django.utils import timezone

from console.intent import Intent, request_intents, strongest
from console.verdict import Verdict, decide_verdict
from directory.models import DirectoryUser, OffboardingRecord, UserValue
from outbox.event_types import EventType
from outbox.models import Event
from provisioning.models import HandlerRun, WebhookAttempt, WebhookDelivery
from scim_api.models import RequestLog
from tenants.context import TenantRef, tenant_schema
from tenants.models import ScimConnection

LOOKBACK = timedelta(days=90)
MAX_ROWS = 500
USER_EVENT_TYPES = [t.value for t in EventType if t.value.startswith("user.") or t is EventType.ROLE_CHANGED]
MEMBER_EVENT_TYPES = [EventType.GROUP_MEMBER_ADDED.value, EventType.GROUP_MEMBER_REMOVED.value]


class PersonNotFound(LookupError):
    """No user, event or request of this tenant matches the search."""


@dataclass(frozen=True)
class Person:
    id: str
    user_name: str
    external_id: str | None
    email: str
    active: bool | None  # None: no longer in the directory
    source_connection_id: str
    matched_on: str

    @property
    def exists(self) -> bool:
        return self.active is not None


# --------------------------------------------------------------------------- finding people


def _person_of(user: DirectoryUser, matched_on: str) -> Person:
    return Person(
        str(user.id), user.user_name, user.external_id, user.email, user.active, user.source_connection_id, matched_on
    )


def _person_from_event(event: Event, matched_on: str) -> Person:
    user = (event.payload or {}).get("user") or {}
    return Person(
        id=event.resource_id,
        user_name=str(user.get("user_name", "")),
        external_id=user.get("external_id"),
        email=str(user.get("email", "")),
        active=None,
        source_connection_id=event.actor.removeprefix("scim:") if event.actor.startswith("scim:") else "",
        matched_on=matched_on,
    )


def find_people(query: str, *, limit: int = 10) -> list[Person]:
    """People of the current tenant schema matching an id, userName, email or externalId (exact,
    case-insensitive), directory first, then deleted users from the event history."""
    text = query.strip()
    if not text:
        return []
    found: dict[str, Person] = {}
    users = DirectoryUser.objects.none()
    with contextlib.suppress(ValueError):
        users |= DirectoryUser.objects.filter(pk=uuid.UUID(text))
    users |= DirectoryUser.objects.filter(
        Q(user_name__iexact=text)
        | Q(external_id=text)
        | Q(email__iexact=text)
        | Q(pk__in=UserValue.objects.filter(attribute="emails", value__iexact=text).values("user_id"))
    )
    for user in users.order_by("user_name")[:limit]:
        matched = (
            "id"
            if str(user.id) == text.lower()
            else "userName"
            if user.user_name.lower() == text.lower()
            else "externalId"
            if user.external_id == text
            else "email"
        )
        found[str(user.id)] = _person_of(user, matched)
    if len(found) < limit:
        gone = (
            Event.objects.filter(resource_type="User", type=EventType.USER_DELETED.value)
            .filter(
                Q(resource_id=text)
                | Q(payload__user__user_name__iexact=text)
                | Q(payload__user__email__iexact=text)
                | Q(payload__user__external_id=text)
            )
            .exclude(resource_id__in=list(found))
            .order_by("-seq")[:limit]
        )
        for event in gone:
            found.setdefault(event.resource_id, _person_from_event(event, "deleted user"))
    if not found and _looks_like_id(text):
        named = RequestLog.objects.filter(
            resource_type="Group", received_at__gte=timezone.now() - LOOKBACK, request_body__icontains=text
        ).exists()
        if named:
            found[text] = Person(text, "", None, "", None, "", "group request")
    return list(found.values())[:limit]


def _looks_like_id(text: str) -> bool:
    return 8 <= len(text) <= 64 and " " not in text and "@" not in text


# --------------------------------------------------------------------------- entries


class EntryKind(StrEnum):
    REQUEST = "request"
    EVENT = "event"
    HANDLER_RUN = "handler_run"
    DELIVERY = "delivery"
    OFFBOARDING = "offboarding"


_KIND_ORDER = {k: i for i, k in enumerate(EntryKind)}


@dataclass(frozen=True)
class RequestEntry:
    at: datetime
    request_id: str
    connection_id: str
    idp: str
    method: str
    path: str
    query: str
    status: int
    scim_type: str
    error_detail: str
    quirks: tuple[str, ...]
    body: Any
    response_body: Any
    latency_ms: float
    intent: Intent | None
    event_seqs: tuple[int, ...]
    kind: EntryKind = EntryKind.REQUEST

    @property
    def accepted(self) -> bool:
        return self.status < 400


@dataclass(frozen=True)
class EventEntry:
    at: datetime
    seq: int
    type: str
    actor: str
    resource_type: str
    resource_id: str
    payload: dict[str, Any]
    request_id: str
    handled_at: datetime | None
    attempts: int
    last_error: str
    retry_at: datetime | None
    parked: bool
    before: dict[str, Any] | None  # the person's state before this event (user events)
    after: dict[str, Any] | None
    kind: EntryKind = EntryKind.EVENT


@dataclass(frozen=True)
class HandlerRunEntry:
    at: datetime
    seq: int
    handler: str
    kind: EntryKind = EntryKind.HANDLER_RUN


@dataclass(frozen=True)
class AttemptView:
    at: datetime
    status_code: int | None
    duration_ms: float
    error: str

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300 and not self.error


@dataclass(frozen=True)
class DeliveryEntry:
    at: datetime
    id: int
    seq: int
    event_type: str
    endpoint_id: str
    endpoint_url: str
    status: str
    attempts: int
    total_attempts: int
    next_attempt_at: datetime | None
    delivered_at: datetime | None
    dead_at: datetime | None
    last_status_code: int | None
    last_error: str
    attempt_log: tuple[AttemptView, ...]
    kind: EntryKind = EntryKind.DELIVERY

    @property
    def succeeded(self) -> bool:
        return self.status == WebhookDelivery.Status.SUCCEEDED


@dataclass(frozen=True)
class OffboardingEntry:
    at: datetime
    seq: int
    event_type: str
    requested_at: datetime
    latency_seconds: float
    sessions_revoked: int
    tokens_revoked: int
    grants_removed: int
    agents_torn_down: int
    kind: EntryKind = EntryKind.OFFBOARDING


TimelineEntry = RequestEntry | EventEntry | HandlerRunEntry | DeliveryEntry | OffboardingEntry


@dataclass(frozen=True)
class ConnectionInfo:
    id: str
    idp: str
    name: str
    detected_idp: str
    last_request_at: datetime | None


@dataclass(frozen=True)
class TimelineFacts:
    """Everything the verdict looks at, already read."""

    person: Person
    requests: list[RequestEntry]
    events: list[EventEntry]
    deliveries: list[DeliveryEntry]
    offboarding: list[OffboardingEntry]
    connections: dict[str, ConnectionInfo]
    now: datetime


@dataclass(frozen=True)
class UserTimeline:
    person: Person
    verdict: Verdict
    entries: list[TimelineEntry]
    truncated: bool  # some source had more than MAX_ROWS rows

    @property
    def requests(self) -> list[RequestEntry]:
        return [e for e in self.entries if isinstance(e, RequestEntry)]

    @property
    def events(self) -> list[EventEntry]:
        return [e for e in self.entries if isinstance(e, EventEntry)]

    @property
    def deliveries(self) -> list[DeliveryEntry]:
        return [e for e in self.entries if isinstance(e, DeliveryEntry)]


# --------------------------------------------------------------------------- reading


def _requests(person: Person, since: datetime) -> tuple[list[RequestLog], bool]:
    own = Q(resource_type="User", resource_id=person.id)
    recent = Q(received_at__gte=since)
    named = recent & (
        Q(resource_type="Group", request_body__icontains=person.id)
        | Q(resource_type="Group", path__icontains=person.id)
        | Q(path__iendswith="/Bulk", request_body__icontains=person.id)
    )
    condition = own | named
    if person.user_name:
        # Its creation (and failed creations) carry no id yet; lookups name the userName in the filter.
        condition |= recent & Q(resource_type="User", method="POST", request_body__userName__iexact=person.user_name)
    rows = list(RequestLog.objects.filter(condition).order_by("-received_at", "-id")[: MAX_ROWS + 1])
    return rows[:MAX_ROWS][::-1], len(rows) > MAX_ROWS


def _events(person: Person) -> tuple[list[Event], bool]:
    own = Q(resource_type="User", resource_id=person.id)
    member = Q(resource_type="Group", type__in=MEMBER_EVENT_TYPES, payload__member__id=person.id)
    deleted_group = Q(type=EventType.GROUP_DELETED.value, payload__member_user_ids__contains=[person.id])
    rows = list(Event.objects.filter(own | member | deleted_group).order_by("-seq")[: MAX_ROWS + 1])
    return rows[:MAX_ROWS][::-1], len(rows) > MAX_ROWS


def _event_entries(events: list[Event]) -> list[EventEntry]:
    entries: list[EventEntry] = []
    state: dict[str, Any] | None = None
    for event in events:
        after = (event.payload or {}).get("user") if event.resource_type == "User" else None
        entries.append(
            EventEntry(
                at=event.occurred_at,
                seq=event.seq,
                type=event.type,
                actor=event.actor,
                resource_type=event.resource_type,
                resource_id=event.resource_id,
                payload=event.payload or {},
                request_id=event.request_id,
                handled_at=event.handled_at,
                attempts=event.attempts,
                last_error=event.last_error,
                retry_at=event.retry_at,
                parked=bool(getattr(event, "parked_at", None)) and not getattr(event, "skipped_at", None),
                before=state if after is not None else None,
                after=after,
            )
        )
        if after is not None:
            state = after
    return entries


def _request_entries(rows: list[RequestLog], person: Person, events: list[EventEntry]) -> list[RequestEntry]:
    seqs_by_request: dict[str, list[int]] = {}
    for event in events:
        if event.request_id:
            seqs_by_request.setdefault(event.request_id, []).append(event.seq)
    return [
        RequestEntry(
            at=row.received_at,
            request_id=row.request_id,
            connection_id=row.connection_id,
            idp=row.idp,
            method=row.method,
            path=row.path,
            query=row.query,
            status=row.status,
            scim_type=row.scim_type,
            error_detail=row.error_detail,
            quirks=tuple(row.quirks or ()),
            body=row.request_body,
            response_body=row.response_body,
            latency_ms=row.latency_ms,
            intent=strongest(request_intents(row.method, row.path, row.request_body, person.id)),
            event_seqs=tuple(seqs_by_request.get(row.request_id, ()) if row.request_id else ()),
        )
        for row in rows
    ]


def _deliveries(seqs: list[int]) -> list[DeliveryEntry]:
    rows = (
        WebhookDelivery.objects.filter(event_seq__in=seqs)
        .select_related("endpoint")
        .prefetch_related(Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("attempted_at", "id")))
        .order_by("event_seq", "id")
    )
    pending = (WebhookDelivery.Status.PENDING, WebhookDelivery.Status.RETRYING, WebhookDelivery.Status.SENDING)
    return [
        DeliveryEntry(
            at=d.created_at,
            id=d.pk,
            seq=d.event_seq,
            event_type=d.event_type,
            endpoint_id=str(d.endpoint_id),
            endpoint_url=d.endpoint.url,
            status=d.status,
            attempts=d.attempts,
            total_attempts=d.total_attempts,
            next_attempt_at=d.next_attempt_at if d.status in pending else None,
            delivered_at=d.delivered_at,
            dead_at=d.dead_at,
            last_status_code=d.last_status_code,
            last_error=d.last_error,
            attempt_log=tuple(AttemptView(a.attempted_at, a.status_code, a.duration_ms, a.error) for a in d.attempt_log.all()),
        )
        for d in rows
    ]


def _connections(ids: set[str]) -> dict[str, ConnectionInfo]:
    rows = ScimConnection.objects.filter(pk__in=[i for i in ids if i]).values_list(
        "id", "idp", "name", "detected_idp", "last_request_at"
    )
    return {row[0]: ConnectionInfo(*row) for row in rows}


def read_facts(person: Person, *, since: datetime | None = None, now: datetime | None = None) -> tuple[TimelineFacts, list[HandlerRunEntry], bool]:
    """Read everything about the person from the current tenant schema (about ten queries)."""
    now = now or timezone.now()
    since = since or now - LOOKBACK
    events, events_cut = _events(person)
    event_entries = _event_entries(events)
    # Offboarding appends user.access_revoked with the cause's seq; both belong to the person already.
    seqs = [e.seq for e in event_entries]
    request_rows, requests_cut = _requests(person, since)
    requests = _request_entries(request_rows, person, event_entries)
    runs = [
        HandlerRunEntry(at, seq, handler)
        for seq, handler, at in HandlerRun.objects.filter(seq__in=seqs).order_by("completed_at", "id").values_list(
            "seq", "handler", "completed_at"
        )
    ]
    deliveries = _deliveries(seqs)
    user_uuid = _uuid_or_none(person.id)
    records = OffboardingRecord.objects.filter(user_id=user_uuid).order_by("completed_at") if user_uuid else []
    offboarding = [
        OffboardingEntry(
            r.completed_at, r.seq, r.event_type, r.requested_at, r.latency_seconds,
            r.sessions_revoked, r.tokens_revoked, r.grants_removed, r.agents_torn_down,
        )
        for r in records
    ]
    connection_ids = {r.connection_id for r in requests} | {person.source_connection_id}
    connection_ids |= {e.actor.removeprefix("scim:") for e in event_entries if e.actor.startswith("scim:")}
    facts = TimelineFacts(person, requests, event_entries, deliveries, offboarding, _connections(connection_ids), now)
    return facts, runs, events_cut or requests_cut


def _uuid_or_none(value: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(value)
    except ValueError:
        return None


def _ordered(facts: TimelineFacts, runs: list[HandlerRunEntry]) -> list[TimelineEntry]:
    entries: list[TimelineEntry] = [*facts.requests, *facts.events, *runs, *facts.deliveries, *facts.offboarding]
    return sorted(entries, key=lambda e: (e.at, _KIND_ORDER[e.kind]))


def user_timeline(
    tenant: TenantRef, query: str, *, since: datetime | None = None, now: datetime | None = None
) -> UserTimeline:
    """The person matching `query` (the first match: pass an id to pick one), their ordered
    history and the verdict that explains their current state. PersonNotFound when nobody matches."""
    with tenant_schema(tenant):
        people = find_people(query, limit=1)
        if not people:
            raise PersonNotFound(f"no user, event or request in {tenant.name} matches {query.strip()!r}")
        facts, runs, truncated = read_facts(people[0], since=since, now=now)
    return UserTimeline(facts.person, decide_verdict(facts), _ordered(facts, runs), truncated)
