"""Directory rows -> SCIM JSON documents (before attribute projection)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from directory.models import DirectoryGroup, DirectoryUser, Membership
from scim.schema import ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA

# Keys of the canonical resource that the server owns and renders itself.
SERVER_KEYS = frozenset({"schemas", "id", "meta", "groups", "members", "password"})


def scim_datetime(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def etag(version: int) -> str:
    return f'W/"{version}"'


def _meta(resource_type: str, created: datetime, modified: datetime, location: str, version: int) -> dict[str, Any]:
    return {
        "resourceType": resource_type,
        "created": scim_datetime(created),
        "lastModified": scim_datetime(modified),
        "location": location,
        "version": etag(version),
    }


def user_location(base_url: str, user_id: object) -> str:
    return f"{base_url}/Users/{user_id}"


def group_location(base_url: str, group_id: object) -> str:
    return f"{base_url}/Groups/{group_id}"


def user_document(
    user: DirectoryUser, base_url: str, groups: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    schemas = [USER_SCHEMA.id]
    if ENTERPRISE_USER_SCHEMA.id in user.resource:
        schemas.append(ENTERPRISE_USER_SCHEMA.id)
    doc: dict[str, Any] = {"schemas": schemas, "id": str(user.id)}
    for key, value in user.resource.items():
        if key not in SERVER_KEYS:
            doc[key] = value
    if groups:
        doc["groups"] = groups
    doc["meta"] = _meta("User", user.created, user.last_modified, user_location(base_url, user.id), user.version)
    return doc


def group_document(
    group: DirectoryGroup, base_url: str, members: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    doc: dict[str, Any] = {"schemas": [GROUP_SCHEMA.id], "id": str(group.id)}
    for key, value in group.resource.items():
        if key not in SERVER_KEYS:
            doc[key] = value
    if members:
        doc["members"] = members
    doc["meta"] = _meta(
        "Group", group.created, group.last_modified, group_location(base_url, group.id), group.version
    )
    return doc


def member_documents(memberships: Iterable[Membership], base_url: str) -> list[dict[str, Any]]:
    """Render memberships fetched with `member_rows` (select_related user/child_group)."""
    members: list[dict[str, Any]] = []
    for m in memberships:
        if m.user_id is not None:
            user = m.user
            members.append(
                {
                    "value": str(m.user_id),
                    "$ref": user_location(base_url, m.user_id),
                    "type": "User",
                    "display": (user.display_name or user.user_name) if user else "",
                }
            )
        else:
            child = m.child_group
            members.append(
                {
                    "value": str(m.child_group_id),
                    "$ref": group_location(base_url, m.child_group_id),
                    "type": "Group",
                    "display": child.display_name if child else "",
                }
            )
    return members


def group_refs(rows: Iterable[Mapping[str, Any]], base_url: str) -> list[dict[str, Any]]:
    """User.groups entries from (group_id, display_name, direct) rows."""
    return [
        {
            "value": str(row["group_id"]),
            "$ref": group_location(base_url, row["group_id"]),
            "display": row["display_name"],
            "type": "direct" if row["direct"] else "indirect",
        }
        for row in rows
    ]
