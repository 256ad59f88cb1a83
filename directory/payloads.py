"""Users and groups as the SaaS app sees them: the `data` of their events, webhooks and the Events API."""

from __future__ import annotations

from typing import Any

from directory.mapping import APP_FIELDS
from directory.models import DirectoryGroup, DirectoryUser


def app_field_values(user: DirectoryUser) -> dict[str, str]:
    """Every mapped app field of the user (builtin columns and extra fields, custom ones included)."""
    values: dict[str, str] = {}
    for spec in APP_FIELDS:
        if spec.column is None:
            values[spec.key] = str((user.extra_fields or {}).get(spec.key, ""))
        elif spec.user_reference:
            raw = getattr(user, spec.column)
            values[spec.key] = str(raw) if raw else ""
        else:
            values[spec.key] = getattr(user, spec.column) or ""
    for key, value in sorted((user.extra_fields or {}).items()):
        values.setdefault(key, str(value))
    return values


def user_payload(user: DirectoryUser) -> dict[str, Any]:
    """Identity, state and mapped fields of a user."""
    fields = app_field_values(user)
    payload: dict[str, Any] = {
        "id": str(user.id),
        "user_name": user.user_name,
        "external_id": user.external_id,
        "active": user.active,
        "kind": user.kind,
    }
    for key, value in fields.items():
        if key == "manager":
            payload["manager_id"] = value or None
        else:
            payload[key] = value
    return payload


def group_payload(group: DirectoryGroup) -> dict[str, Any]:
    return {"id": str(group.id), "display_name": group.display_name, "external_id": group.external_id}
