"""The users a SCIM connection provisioned, and what happens to them when the connection goes.

Deleting a connection never deletes users silently: the admin first sees how many it provisioned
and chooses to keep them (they stay as they are, no longer managed by any IdP) or to deactivate
them (each through deactivate_user, so each is offboarded with its proof). Deactivating is batched
(`deactivate_connection_users` with `after_id`) so the worker can run it for any number of users.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from enum import StrEnum

from django.db.models import Count, Q

from directory.change import ChangeContext
from directory.models import DirectoryGroup, DirectoryUser
from directory.users import deactivate_user
from outbox.append import Actor


class Disposition(StrEnum):
    KEEP = "keep"
    DEACTIVATE = "deactivate"


@dataclass(frozen=True)
class ConnectionPopulation:
    users: int
    active_users: int
    agents: int
    groups: int


def connection_population(connection_id: str) -> ConnectionPopulation:
    """How many users, active users, agents and groups came from the connection (two queries)."""
    counts = DirectoryUser.objects.filter(source_connection_id=connection_id).aggregate(
        users=Count("id", filter=Q(kind=DirectoryUser.Kind.HUMAN)),
        active=Count("id", filter=Q(kind=DirectoryUser.Kind.HUMAN, active=True)),
        agents=Count("id", filter=Q(kind=DirectoryUser.Kind.AGENT)),
    )
    groups = DirectoryGroup.objects.filter(source_connection_id=connection_id).count()
    return ConnectionPopulation(counts["users"], counts["active"], counts["agents"], groups)


@dataclass(frozen=True)
class BatchResult:
    examined: int
    deactivated: int
    last_id: uuid.UUID | None  # pass as `after_id` to continue; None when done


def deactivate_connection_users(
    *, connection_id: str, idp: str, actor: Actor, after_id: uuid.UUID | None = None, limit: int = 200
) -> BatchResult:
    """Deactivate the next `limit` active users (id order) the connection provisioned, one service call
    each (user.deactivated, then offboarding in the pipeline). `idp` is the connection's profile, whose
    mapping the users' fields follow (a change re-applies the mapping)."""
    qs = DirectoryUser.objects.filter(source_connection_id=connection_id, active=True).order_by("id")
    if after_id is not None:
        qs = qs.filter(id__gt=after_id)
    ids = list(qs.values_list("id", flat=True)[:limit])
    ctx = ChangeContext(actor=actor, idp=idp)
    for user_id in ids:
        deactivate_user(user_id=user_id, ctx=ctx)
    return BatchResult(examined=len(ids), deactivated=len(ids), last_id=ids[-1] if len(ids) == limit else None)
