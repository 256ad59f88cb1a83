"""Offboarding: when a user is deactivated or deleted, remove every kind of access and keep proof.

`offboard_user` runs inside the handler's transaction: it revokes the user's app sessions and API
tokens, removes the role grant, tears down the agents the user owns, writes an OffboardingRecord
(latency measured from the arrival of the IdP's request) and appends user.access_revoked.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from config.metrics import DEPROVISION_LATENCY
from directory.models import DirectoryUser
from provisioning import agents, roles
from provisioning.event_types import EventType
from provisioning.models import AppApiToken, AppSession, OffboardingRecord
from provisioning.outbox import Actor, NewEvent, append_events

APP_TOKEN_PREFIX = "rcu_"


class AccessDenied(Exception):
    """The user may not start a session or create a token (inactive or unknown)."""


@dataclass(frozen=True)
class IssuedAppToken:
    token: AppApiToken
    secret: str


def _require_active(user_id: uuid.UUID | str) -> None:
    if not DirectoryUser.objects.filter(id=user_id, active=True).exists():
        raise AccessDenied(f"user {user_id} is not an active member of this directory")


def start_app_session(*, user_id: uuid.UUID | str, user_agent: str = "") -> AppSession:
    """The SaaS app signs a directory user in (refused once offboarded)."""
    _require_active(user_id)
    return AppSession.objects.create(user_id=user_id, user_agent=user_agent[:255])


def issue_app_token(*, user_id: uuid.UUID | str, name: str = "") -> IssuedAppToken:
    """A personal API token for the user (secret shown once, stored as SHA-256)."""
    _require_active(user_id)
    secret = APP_TOKEN_PREFIX + secrets.token_urlsafe(32)
    token = AppApiToken.objects.create(
        user_id=user_id, name=name, prefix=secret[:10], digest=hashlib.sha256(secret.encode()).hexdigest()
    )
    return IssuedAppToken(token=token, secret=secret)


def offboard_user(
    *,
    user_id: str,
    user_name: str,
    event_type: EventType,
    seq: int,
    requested_at: datetime,
    actor: Actor,
) -> OffboardingRecord:
    """Remove all access of the user (call in the handler's transaction) and record the proof."""
    now = timezone.now()
    reason = event_type.value
    sessions = AppSession.objects.filter(user_id=user_id, revoked_at__isnull=True).update(
        revoked_at=now, revoked_reason=reason
    )
    tokens = AppApiToken.objects.filter(user_id=user_id, revoked_at__isnull=True).update(
        revoked_at=now, revoked_reason=reason
    )
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
        sessions_revoked=sessions,
        tokens_revoked=tokens,
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
                    "sessions_revoked": sessions,
                    "tokens_revoked": tokens,
                    "grants_removed": record.grants_removed,
                    "agents_torn_down": torn_down,
                },
            )
        ],
        actor=actor,
    )
    transaction.on_commit(lambda: DEPROVISION_LATENCY.observe(latency))
    return record
