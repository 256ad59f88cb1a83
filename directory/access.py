"""Access a directory user holds in the customer's app: sessions and personal API tokens.

The SaaS app starts sessions and issues tokens only for active users; offboarding revokes them all."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime

from directory.errors import AccessDenied
from directory.models import AppApiToken, AppSession, DirectoryUser

APP_TOKEN_PREFIX = "rcu_"


@dataclass(frozen=True)
class IssuedAppToken:
    token: AppApiToken
    secret: str  # shown once


@dataclass(frozen=True)
class RevokedAccess:
    sessions: int
    tokens: int


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


def revoke_access(*, user_id: uuid.UUID | str, reason: str, now: datetime) -> RevokedAccess:
    """End every live session and revoke every token of the user (call in the caller's transaction)."""
    sessions = AppSession.objects.filter(user_id=user_id, revoked_at__isnull=True).update(
        revoked_at=now, revoked_reason=reason
    )
    tokens = AppApiToken.objects.filter(user_id=user_id, revoked_at__isnull=True).update(
        revoked_at=now, revoked_reason=reason
    )
    return RevokedAccess(sessions=sessions, tokens=tokens)
