"""The registry of outbox event types. Code branches on these members, never on free strings."""

from __future__ import annotations

from enum import StrEnum


class EventType(StrEnum):
    USER_CREATED = "user.created"
    USER_UPDATED = "user.updated"
    USER_DEACTIVATED = "user.deactivated"
    USER_REACTIVATED = "user.reactivated"
    USER_DELETED = "user.deleted"
    GROUP_CREATED = "group.created"
    GROUP_UPDATED = "group.updated"
    GROUP_DELETED = "group.deleted"
    GROUP_MEMBER_ADDED = "group.member_added"
    GROUP_MEMBER_REMOVED = "group.member_removed"
    ROLE_CHANGED = "role.changed"
    # A group-to-role mapping, the role order or the default role changed: the pipeline recomputes
    # the users it affects (payload group_id: that group's users; null: everyone).
    ROLE_MAPPING_CHANGED = "role.mapping_changed"
    # Offboarding finished: sessions, API tokens and grants of the user are gone (the proof's last link).
    USER_ACCESS_REVOKED = "user.access_revoked"
    AGENT_EXPIRED = "agent.expired"
    TOKEN_ISSUED = "token.issued"
    TOKEN_REVOKED = "token.revoked"

    @classmethod
    def parse(cls, value: str) -> EventType:
        try:
            return cls(value)
        except ValueError:
            raise ValueError(f"unknown event type {value!r}") from None
