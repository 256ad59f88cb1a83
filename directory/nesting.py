"""Nested groups: the one place that walks group membership transitively (recursive SQL).

Two walks, each written once: UP from users or groups to every group that contains them (directly or
through nested groups), and DOWN from groups to every user under them. Depth is bounded by
MAX_GROUP_NESTING (cycles are refused when members are added, the bound is a second guard).
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from django.db import connection

MAX_GROUP_NESTING = 10

# walk_up(origin, group_id, direct, depth): for each origin (a user or a group), every group above it.
_WALK_UP = """
walk_up(origin, group_id, direct, depth) AS (
    {seed}
    UNION
    SELECT w.origin, p.group_id, false, w.depth + 1
    FROM walk_up w JOIN directory_membership p ON p.child_group_id = w.group_id
    WHERE w.depth < %(depth)s
)"""
_FROM_USERS = "SELECT m.user_id, m.group_id, true, 0 FROM directory_membership m WHERE m.user_id = ANY(%(ids)s::uuid[])"
_FROM_GROUPS = "SELECT g, g, true, 0 FROM unnest(%(ids)s::uuid[]) AS g"

# walk_down(group_id, depth): the groups and every group nested under them.
_WALK_DOWN = """
walk_down(group_id, depth) AS (
    SELECT g, 0 FROM unnest(%(ids)s::uuid[]) AS g
    UNION
    SELECT m.child_group_id, d.depth + 1
    FROM walk_down d JOIN directory_membership m ON m.group_id = d.group_id
    WHERE m.child_group_id IS NOT NULL AND d.depth < %(depth)s
)"""


# Each origin's groups, one row per group (by group id), a direct membership winning over an indirect one.
_GROUPS_ABOVE = """SELECT DISTINCT ON (w.origin, w.group_id) w.origin, w.group_id, w.direct, g.display_name
        FROM walk_up w JOIN directory_directorygroup g ON g.id = w.group_id
        ORDER BY w.origin, w.group_id, w.direct DESC"""


def groups_above_users_cte() -> str:
    """A `walk_up` CTE (for WITH RECURSIVE) seeded with the users in %(ids)s: origin = user id."""
    return _WALK_UP.format(seed=_FROM_USERS)


def params(ids: Sequence[uuid.UUID | str], **extra: Any) -> dict[str, Any]:
    return {"ids": [str(i) for i in ids], "depth": MAX_GROUP_NESTING, **extra}


def groups_of_users(user_ids: Sequence[uuid.UUID]) -> dict[uuid.UUID, list[dict[str, Any]]]:
    """Direct and indirect groups of each user, with display names, in one query."""
    result: dict[uuid.UUID, list[dict[str, Any]]] = defaultdict(list)
    if not user_ids:
        return result
    sql = f"WITH RECURSIVE {groups_above_users_cte()} {_GROUPS_ABOVE}"
    with connection.cursor() as cursor:
        cursor.execute(sql, params(user_ids))
        for user_id, group_id, direct, display_name in cursor.fetchall():
            result[user_id].append({"group_id": group_id, "direct": direct, "display_name": display_name})
    return result


# The walk seeded with the user row of the enclosing query (a correlated subquery).
_FROM_THE_ROW = 'SELECT m.user_id, m.group_id, true, 0 FROM directory_membership m WHERE m.user_id = "directory_directoryuser"."id"'


# The row's groups as JSON text, with the walk and the rows of groups_of_users. The enclosing ORM
# query takes positional parameters, hence %s for the depth.
_GROUPS_OF_THE_ROW = f"""(WITH RECURSIVE {_WALK_UP.format(seed=_FROM_THE_ROW)}
    SELECT coalesce(json_agg(json_build_object('group_id', d.group_id, 'direct', d.direct, 'display_name', d.display_name)
                             ORDER BY d.group_id), '[]')::text
    FROM ({_GROUPS_ABOVE}) d)""".replace("%(depth)s", "%s")


def groups_of_the_row_sql() -> tuple[str, tuple[int]]:
    """A scalar subquery (SQL, params) giving each `directory_directoryuser` row's groups as JSON text
    ({"group_id", "direct", "display_name"} each, by group id, as groups_of_users gives them), so the
    row and its `groups` come in one statement."""
    return _GROUPS_OF_THE_ROW, (MAX_GROUP_NESTING,)


def group_ancestors(group_id: uuid.UUID) -> set[uuid.UUID]:
    """The group and every group it is (transitively) a member of."""
    sql = f"WITH RECURSIVE {_WALK_UP.format(seed=_FROM_GROUPS)} SELECT DISTINCT group_id FROM walk_up"
    with connection.cursor() as cursor:
        cursor.execute(sql, params([group_id]))
        return {row[0] for row in cursor.fetchall()}


def users_under_groups(group_ids: Sequence[uuid.UUID]) -> list[uuid.UUID]:
    """Users who are members of the groups directly or through nested groups, in one query."""
    if not group_ids:
        return []
    sql = f"""WITH RECURSIVE {_WALK_DOWN}
        SELECT DISTINCT m.user_id FROM directory_membership m JOIN walk_down d ON m.group_id = d.group_id
        WHERE m.user_id IS NOT NULL"""
    with connection.cursor() as cursor:
        cursor.execute(sql, params(group_ids))
        return [row[0] for row in cursor.fetchall()]
