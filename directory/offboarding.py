"""Offboarding: when a user is deactivated or deleted, remove every kind of access and keep proof.

`offboard_user` runs inside the pipeline's transaction for the user.deactivated / user.deleted event:
it revokes the user's app sessions and API tokens, removes the role grant, tears down the agents the
user owns, writes an OffboardingRecord (latency measured from the arrival of the IdP's request) and
appends user.access_revoked.
"""

from __future__ import annotations

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from directory import agents, roles
from directory.access import revoke_access
from directory.models import OffboardingRecord
from observability.metrics import DEPROVISION_LATENCY
from outbox.append import Actor, NewEvent, append_events
from outbox.event_types import EventType


def offboard_user(
    *,
    user_id: str,
    user_name: str,
    event_type: EventType,
    seq: int,
    requested_at: datetime,
    actor: Actor,
) -> OffboardingRecord:
    """Remove all access of the user (call in the caller's transaction) and record the proof."""
    now = timezone.now()
    reason = event_type.value
    revoked = revoke_access(user_id=user_id, reason=reason, now=now)
    if event_type is EventType.USER_DELETED:
        # The grant was deleted with the user row; announce the role it last held.
        change = roles.forget_deleted_user(user_id, actor=actor, cause_seq=seq)
        agent_reason = agents.TeardownReason.OWNER_DELETED
    else:
        change = roles.revoke_grant(user_id, actor=actor, cause_seq=seq)
        agent_reason = agents.TeardownReason.OWNER_DEACTIVATED
    torn_down = agents.teardown_agents_of(user_id, reason=agent_reason, actor=actor)
    completed = timezone.now()
    latency = max((completed - requested_at).total_seconds(), 0.0)
    record = OffboardingRecord.objects.create(
        seq=seq,
        event_type=reason,
        user_id=user_id,
        user_name=user_name,
        requested_at=requested_at,
        completed_at=completed,
        latency_seconds=latency,
        sessions_revoked=revoked.sessions,
        tokens_revoked=revoked.tokens,
        grants_removed=1 if change is not None else 0,
        agents_torn_down=torn_down,
    )
    append_events(
        [
            NewEvent(
                EventType.USER_ACCESS_REVOKED,
                "User",
                user_id,
                {
                    "user": {"id": user_id, "user_name": user_name},
                    "cause_seq": seq,
                    "cause": reason,
                    "requested_at": requested_at.isoformat(),
                    "completed_at": completed.isoformat(),
                    "latency_seconds": round(latency, 3),
                    "sessions_revoked": revoked.sessions,
                    "tokens_revoked": revoked.tokens,
                    "grants_removed": record.grants_removed,
                    "agents_torn_down": torn_down,
                },
            )
        ],
        actor=actor,
    )
    transaction.on_commit(lambda: DEPROVISION_LATENCY.observe(latency))
    return record


def offboarding_records(user_id: str | None = None, *, limit: int = 100) -> list[OffboardingRecord]:
    """The proof rows, newest first (of one user, or the latest `limit`)."""
    qs = OffboardingRecord.objects.order_by("-completed_at")
    return list(qs.filter(user_id=user_id) if user_id else qs[:limit])
