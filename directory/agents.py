"""Agent (non-human) identities are torn down when they expire or their owner is offboarded.

Teardown goes through the directory's own deactivation service (`deactivate_user`), so the usual
user.deactivated event, and therefore offboarding with its proof, follow; agent.expired records why.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone

from directory.change import ChangeContext
from directory.models import DirectoryUser
from directory.payloads import user_payload
from directory.users import deactivate_user
from outbox.append import Actor, NewEvent, append_events
from outbox.event_types import EventType
from tenants.models import ScimConnection


class TeardownReason(StrEnum):
    EXPIRED = "expired"
    OWNER_DEACTIVATED = "owner_deactivated"
    OWNER_DELETED = "owner_deleted"


def _idp_of(agent: DirectoryUser) -> str:
    # Re-mapping uses the profile the agent was provisioned with, so deactivation changes nothing else.
    idp = ScimConnection.objects.filter(id=agent.source_connection_id).values_list("idp", flat=True).first()
    return idp or "generic"


def teardown_agent(agent_id: uuid.UUID | str, *, reason: TeardownReason, actor: Actor) -> bool:
    """Deactivate one active agent and append agent.expired. False when it is no longer an active agent."""
    with transaction.atomic():
        agent = (
            DirectoryUser.objects.select_for_update()
            .filter(id=agent_id, kind=DirectoryUser.Kind.AGENT, active=True)
            .first()
        )
        if agent is None:
            return False
        updated = deactivate_user(user_id=agent.id, ctx=ChangeContext(actor=actor, idp=_idp_of(agent)))
        payload = {
            "user": user_payload(updated),
            "reason": reason.value,
            "owner_id": str(agent.owner_id) if agent.owner_id else None,
            "expires_at": agent.expires_at.isoformat() if agent.expires_at else None,
        }
        append_events([NewEvent(EventType.AGENT_EXPIRED, "User", str(agent.id), payload)], actor=actor)
    return True


def teardown_agents_of(owner_id: uuid.UUID | str, *, reason: TeardownReason, actor: Actor) -> int:
    """Tear down every active agent the owner holds (when the owner is offboarded)."""
    ids = list(
        DirectoryUser.objects.filter(owner_id=owner_id, kind=DirectoryUser.Kind.AGENT, active=True).values_list(
            "id", flat=True
        )
    )
    return sum(teardown_agent(pk, reason=reason, actor=actor) for pk in ids)


def agents_due(now: datetime) -> list[tuple[uuid.UUID, TeardownReason]]:
    """Active agents past their expiry, or whose owner is inactive or gone, with the reason."""
    owner_active = DirectoryUser.objects.filter(id=OuterRef("owner_id"), active=True)
    owner_exists = DirectoryUser.objects.filter(id=OuterRef("owner_id"))
    rows = (
        DirectoryUser.objects.filter(kind=DirectoryUser.Kind.AGENT, active=True)
        .annotate(owner_active=Exists(owner_active), owner_exists=Exists(owner_exists))
        .filter(Q(expires_at__lte=now) | Q(owner_id__isnull=False, owner_active=False))
        .values_list("id", "expires_at", "owner_exists")
    )
    due: list[tuple[uuid.UUID, TeardownReason]] = []
    for pk, expires_at, owner_exists_flag in rows:
        if expires_at is not None and expires_at <= now:
            due.append((pk, TeardownReason.EXPIRED))
        else:
            due.append((pk, TeardownReason.OWNER_DEACTIVATED if owner_exists_flag else TeardownReason.OWNER_DELETED))
    return due


def expire_agents(*, now: datetime | None = None) -> int:
    """Beat: tear down the current tenant's due agents. Returns how many were torn down."""
    now = now or timezone.now()
    actor = Actor(kind="system", id="agent-expiry", requested_at=now)
    return sum(teardown_agent(pk, reason=reason, actor=actor) for pk, reason in agents_due(now))
