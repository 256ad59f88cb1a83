"""SCIM representation: directory rows as SCIM documents (before attribute projection), and ETags.

The SCIM edge owns everything HTTP-shaped about a resource: `meta.location`, `$ref`, the weak ETag
that equals `meta.version`, and reading `If-Match` / `If-None-Match` into a version the directory
services understand.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from directory.catalog import GROUP_CATALOG, USER_CATALOG
from directory.change import ExpectedVersion
from directory.models import DirectoryGroup, DirectoryUser, Membership
from scim.schema import ENTERPRISE_USER_SCHEMA, GROUP_SCHEMA, USER_SCHEMA

_ETAG = re.compile(r'^(?:W/)?"([0-9]{1,18})"$')


def scim_datetime(value: datetime) -> str:
    return value.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def etag(version: int) -> str:
    return f'W/"{version}"'


def expected_version(if_match: str | None) -> ExpectedVersion:
    """An If-Match header (RFC 7644 §3.14) as the versions a change may be made against.

    None: no condition (no header, or "*"). An ETag that Rollcall never issued matches no version,
    so the change is refused with 412 rather than applied."""
    if if_match is None:
        return None
    candidates = [c.strip() for c in if_match.split(",") if c.strip()]
    if "*" in candidates:
        return None
    versions = set()
    for candidate in candidates:
        match = _ETAG.match(candidate)
        if match is not None:
            versions.add(int(match.group(1)))
    return frozenset(versions)


def matches_if_none_match(if_none_match: str | None, version: int) -> bool:
    """Whether a GET's If-None-Match names the current version (answer 304)."""
    if not if_none_match:
        return False
    tags = [t.strip() for t in if_none_match.split(",")]
    return "*" in tags or etag(version) in tags or etag(version)[2:] in tags


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
        if key not in USER_CATALOG.server_keys:
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
        if key not in GROUP_CATALOG.server_keys:
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
