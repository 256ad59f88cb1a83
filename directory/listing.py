"""The portal's directory lists: users, agents and groups with search, filters and keyset paging.

Pages are keyset-paged (a cursor names the last row shown; no OFFSET), so page 2,000 of 100,000
users costs what page 1 costs: each page is one indexed range scan of `limit + 1` rows, plus one
bounded count. Searches match the start of userName, email and display name case-insensitively
(prefix indexes with text_pattern_ops, migration 0005), or an exact id / externalId.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Generic, TypeVar

from django.db.models import Count, Exists, F, OuterRef, Q, QuerySet, Subquery
from django.db.models.fields.tuple_lookups import Tuple, TupleGreaterThan, TupleLessThan
from django.db.models.functions import Lower

from directory.models import DirectoryGroup, DirectoryUser, GroupRoleMapping, Membership, RoleGrant
from directory.selectors import parse_id

PAGE_SIZE = 50
COUNT_CAP = 10_000  # beyond it a list says "10,000+" (a count of 100,000 rows per page view is waste)
NO_ROLE = "none"

T = TypeVar("T")


@dataclass(frozen=True)
class KeysetPage(Generic[T]):
    rows: list[T]
    next_cursor: str  # "" on the last page
    total: int  # capped at COUNT_CAP + 1
    first_page: bool

    @property
    def total_capped(self) -> bool:
        return self.total > COUNT_CAP


def _encode(*parts: str) -> str:
    return base64.urlsafe_b64encode("|".join(parts).encode()).decode().rstrip("=")


def _decode(cursor: str, count: int) -> list[str] | None:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        return None
    parts = raw.split("|")
    return parts if len(parts) == count else None


def _capped_count(qs: QuerySet[Any]) -> int:
    return qs.order_by()[: COUNT_CAP + 1].count()


# --------------------------------------------------------------------------- users and agents


@dataclass(frozen=True)
class UserFilter:
    """What the Directory page asks for. Empty values mean "any"."""

    q: str = ""
    active: bool | None = None
    role: str = ""  # a role key, or NO_ROLE for users holding none
    group_id: uuid.UUID | None = None  # direct members of this group
    connection_id: str = ""
    kind: str = DirectoryUser.Kind.HUMAN


@dataclass
class UserRow:
    user: DirectoryUser
    role_key: str | None
    role_name: str | None
    role_source: str | None
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def name(self) -> str:
        """How a person is named in lists: display name, else given and family name, else userName."""
        full = " ".join(p for p in (self.user.given_name, self.user.family_name) if p)
        return self.user.display_name or full or self.user.user_name


def _search_users(q: str) -> Q:
    q = q.strip()
    pk = parse_id(q)
    if pk is not None:
        return Q(pk=pk) | Q(external_id=q)
    prefix = q.lower()  # startswith escapes LIKE wildcards itself
    return (
        Q(user_name_lower__startswith=prefix)
        | Q(email_lower__startswith=prefix)
        | Q(display_name_lower__startswith=prefix)
        | Q(external_id=q)
    )


def users_matching(filters: UserFilter) -> QuerySet[DirectoryUser]:
    qs = DirectoryUser.objects.filter(kind=filters.kind)
    if filters.q.strip():
        qs = qs.alias(
            user_name_lower=Lower("user_name"), email_lower=Lower("email"), display_name_lower=Lower("display_name")
        ).filter(_search_users(filters.q))
    if filters.active is not None:
        qs = qs.filter(active=filters.active)
    if filters.role == NO_ROLE:
        qs = qs.filter(~Exists(RoleGrant.objects.filter(user_id=OuterRef("pk"))))
    elif filters.role:
        qs = qs.filter(Exists(RoleGrant.objects.filter(user_id=OuterRef("pk"), role__key=filters.role)))
    if filters.group_id is not None:
        qs = qs.filter(Exists(Membership.objects.filter(user_id=OuterRef("pk"), group_id=filters.group_id)))
    if filters.connection_id:
        qs = qs.filter(source_connection_id=filters.connection_id)
    return qs


def user_page_queryset(filters: UserFilter, *, cursor: str = "", limit: int = PAGE_SIZE) -> tuple[QuerySet[DirectoryUser], bool]:
    """The query of one page (limit + 1 rows, newest first) and whether the cursor was usable."""
    qs = users_matching(filters)
    after = _decode(cursor, 2) if cursor else None
    if after is not None:
        try:
            created, pk = datetime.fromisoformat(after[0]), uuid.UUID(after[1])
        except ValueError:
            after = None
        else:
            qs = qs.filter(TupleLessThan(Tuple(F("created"), F("id")), (created, pk)))
    page = qs.order_by("-created", "-id").select_related("role_grant__role").defer("resource", "password_hash")
    return page[: limit + 1], after is not None


def user_page(filters: UserFilter, *, cursor: str = "", limit: int = PAGE_SIZE) -> KeysetPage[UserRow]:
    """Newest users first. Two queries (the page with each user's grant, and the capped count)."""
    page_qs, keyed = user_page_queryset(filters, cursor=cursor, limit=limit)
    rows = list(page_qs)
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _encode(rows[-1].created.isoformat(), str(rows[-1].id)) if more and rows else ""
    return KeysetPage(
        rows=[_user_row(u) for u in rows], next_cursor=next_cursor, total=_capped_count(users_matching(filters)),
        first_page=not keyed,
    )


def _user_row(user: DirectoryUser) -> UserRow:
    try:
        grant = user.role_grant
    except RoleGrant.DoesNotExist:
        grant = None
    return UserRow(
        user=user,
        role_key=grant.role.key if grant else None,
        role_name=grant.role.name if grant else None,
        role_source=grant.source if grant else None,
    )


def owners_of(agents: Sequence[DirectoryUser]) -> dict[uuid.UUID, DirectoryUser]:
    """The owners of a page of agents (one query)."""
    ids = {a.owner_id for a in agents if a.owner_id}
    return DirectoryUser.objects.only("id", "user_name", "display_name", "active").in_bulk(list(ids)) if ids else {}


# --------------------------------------------------------------------------- groups


@dataclass
class GroupRow:
    group: DirectoryGroup
    members: int
    role_key: str | None


def groups_matching(q: str = "") -> QuerySet[DirectoryGroup]:
    qs = DirectoryGroup.objects.alias(name_lower=Lower("display_name"))
    q = q.strip()
    if q:
        pk = parse_id(q)
        qs = qs.filter(Q(pk=pk) | Q(external_id=q)) if pk else qs.filter(name_lower__startswith=q.lower())
    return qs


def group_page(q: str = "", *, cursor: str = "", limit: int = PAGE_SIZE) -> KeysetPage[GroupRow]:
    """Groups by name (A-Z) with their direct member counts and mapped role. Two queries."""
    qs = groups_matching(q)
    after = _decode(cursor, 2) if cursor else None
    page_qs = qs
    if after is not None:
        try:
            page_qs = qs.filter(TupleGreaterThan(Tuple(Lower("display_name"), F("id")), (after[0], uuid.UUID(after[1]))))
        except ValueError:
            after = None
    members = (
        Membership.objects.filter(group_id=OuterRef("pk")).order_by().values("group_id").annotate(n=Count("id")).values("n")
    )
    role = GroupRoleMapping.objects.filter(group_id=OuterRef("pk")).values("role__key")[:1]
    rows = list(
        page_qs.annotate(member_count=Subquery(members), mapped_role=Subquery(role))
        .order_by(Lower("display_name"), "id")
        .defer("resource")[: limit + 1]
    )
    more = len(rows) > limit
    rows = rows[:limit]
    next_cursor = _encode(rows[-1].display_name.lower(), str(rows[-1].id)) if more and rows else ""
    return KeysetPage(
        rows=[GroupRow(g, g.member_count or 0, g.mapped_role) for g in rows],  # type: ignore[attr-defined]
        next_cursor=next_cursor,
        total=_capped_count(qs),
        first_page=after is None,
    )


def groups_changed_since(since: datetime, *, limit: int = PAGE_SIZE) -> list[GroupRow]:
    """Groups created or changed after `since` (the live group list's poll), oldest change first."""
    members = (
        Membership.objects.filter(group_id=OuterRef("pk")).order_by().values("group_id").annotate(n=Count("id")).values("n")
    )
    role = GroupRoleMapping.objects.filter(group_id=OuterRef("pk")).values("role__key")[:1]
    rows = (
        DirectoryGroup.objects.filter(Q(last_modified__gt=since) | Q(created__gt=since))
        .annotate(member_count=Subquery(members), mapped_role=Subquery(role))
        .order_by("last_modified", "id")
        .defer("resource")[:limit]
    )
    return [GroupRow(g, g.member_count or 0, g.mapped_role) for g in rows]  # type: ignore[attr-defined]


def group_count() -> int:
    return _capped_count(DirectoryGroup.objects.all())


@dataclass(frozen=True)
class Population:
    users: int
    active_users: int
    agents: int
    groups: int


def directory_population() -> Population:
    """Head counts for the overview (two aggregate queries)."""
    counts = DirectoryUser.objects.aggregate(
        users=Count("id", filter=Q(kind=DirectoryUser.Kind.HUMAN)),
        active=Count("id", filter=Q(kind=DirectoryUser.Kind.HUMAN, active=True)),
        agents=Count("id", filter=Q(kind=DirectoryUser.Kind.AGENT)),
    )
    return Population(counts["users"], counts["active"], counts["agents"], DirectoryGroup.objects.count())
