"""Reads of the current tenant's directory. Constant query counts per call, whatever the page size."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from django.db import connection
from django.db.models import Q, QuerySet

from directory.models import DirectoryGroup, DirectoryUser, Membership

MAX_GROUP_NESTING = 10

_USER_GROUPS_SQL = """
WITH RECURSIVE reach(user_id, group_id, direct, depth) AS (
    SELECT m.user_id, m.group_id, true, 0
    FROM directory_membership m WHERE m.user_id = ANY(%s)
    UNION
    SELECT r.user_id, p.group_id, false, r.depth + 1
    FROM reach r JOIN directory_membership p ON p.child_group_id = r.group_id
    WHERE r.depth < %s
)
SELECT DISTINCT ON (r.user_id, r.group_id) r.user_id, r.group_id, r.direct, g.display_name
FROM reach r JOIN directory_directorygroup g ON g.id = r.group_id
ORDER BY r.user_id, r.group_id, r.direct DESC
"""

_GROUP_ANCESTORS_SQL = """
WITH RECURSIVE up(group_id, depth) AS (
    SELECT %s::uuid, 0
    UNION
    SELECT p.group_id, u.depth + 1 FROM up u JOIN directory_membership p ON p.child_group_id = u.group_id
    WHERE u.depth < %s
)
SELECT group_id FROM up
"""


def parse_id(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except (ValueError, AttributeError, TypeError):
        return None


def find_user(user_id: str, *, for_update: bool = False) -> DirectoryUser | None:
    pk = parse_id(user_id)
    if pk is None:
        return None
    qs = DirectoryUser.objects.all()
    if for_update:
        qs = qs.select_for_update()
    return qs.filter(pk=pk).first()


def find_group(group_id: str, *, for_update: bool = False) -> DirectoryGroup | None:
    pk = parse_id(group_id)
    if pk is None:
        return None
    qs = DirectoryGroup.objects.all()
    if for_update:
        qs = qs.select_for_update()
    return qs.filter(pk=pk).first()


def groups_of_users(user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Direct and indirect (nested) groups of each user, in one query."""
    result: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    if not user_ids:
        return result
    with connection.cursor() as cursor:
        cursor.execute(_USER_GROUPS_SQL, [list(user_ids), MAX_GROUP_NESTING])
        for user_id, group_id, direct, display_name in cursor.fetchall():
            result[user_id].append({"group_id": group_id, "direct": direct, "display_name": display_name})
    return result


def group_ancestors(group_id: uuid.UUID) -> set[uuid.UUID]:
    """The group and every group it is (transitively) a member of."""
    with connection.cursor() as cursor:
        cursor.execute(_GROUP_ANCESTORS_SQL, [str(group_id), MAX_GROUP_NESTING])
        return {row[0] for row in cursor.fetchall()}


def member_rows(group_ids: Sequence[uuid.UUID]) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(group_id__in=group_ids)
        .select_related("user", "child_group")
        .only(
            "group_id",
            "user_id",
            "child_group_id",
            "user__display_name",
            "user__user_name",
            "child_group__display_name",
        )
        .order_by("id")
    )


@dataclass(frozen=True)
class Page:
    total: int
    rows: list[Any]


def page(qs: QuerySet[Any], *, order_by: Sequence[Any], start_index: int, count: int) -> Page:
    """One page of `qs` (1-based start_index) plus the total, in at most two queries.

    The rows come first: a page that is neither full nor empty past the start is the last one, so
    the total follows from it without a COUNT (a filter by userName, the last page of a sweep).
    """
    if count == 0:
        return Page(total=qs.count(), rows=[])
    offset = start_index - 1
    rows = list(qs.order_by(*order_by)[offset : offset + count])
    if len(rows) < count and (rows or offset == 0):
        return Page(total=offset + len(rows), rows=rows)
    return Page(total=qs.count(), rows=rows)


def users_matching(condition: Q) -> QuerySet[DirectoryUser]:
    return DirectoryUser.objects.filter(condition)


def groups_matching(condition: Q) -> QuerySet[DirectoryGroup]:
    return DirectoryGroup.objects.filter(condition)
