"""SCIM request bodies shared by the scenarios and the HTTP seeding.

Only forms both apps implement are used where a comparison is made: django-scim2 answers 501 to
`replace displayName` and to `remove members[value eq "..."]`, so user PATCHes change
`name.givenName` / `active`, and membership removal is measured both ways (the filter form as the
issue asks, the value-list form as the comparable one).
"""

from __future__ import annotations

from typing import Any

USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"


def user_name(prefix: str, index: int) -> str:
    return f"{prefix}.{index:05d}@example.com"


def user_payload(prefix: str, index: int) -> dict[str, Any]:
    name = user_name(prefix, index)
    return {
        "schemas": [USER_SCHEMA],
        "userName": name,
        "externalId": f"{prefix}-ext-{index:05d}",
        "name": {"givenName": "Bench", "familyName": f"User{index:05d}"},
        "emails": [{"value": name, "type": "work", "primary": True}],
        "active": True,
    }


def group_payload(name: str) -> dict[str, Any]:
    return {"schemas": [GROUP_SCHEMA], "displayName": name}


def patch(*operations: dict[str, Any]) -> dict[str, Any]:
    return {"schemas": [PATCH_OP], "Operations": list(operations)}


def user_patch(index: int) -> dict[str, Any]:
    """Alternate the two common IdP shapes: Entra-style path replace, Okta-style path-less deactivate."""
    if index % 2 == 0:
        return patch({"op": "replace", "path": "name.givenName", "value": f"Renamed{index:05d}"})
    return patch({"op": "replace", "value": {"active": False}})


def member_patch(op: str, member_ids: list[str]) -> dict[str, Any]:
    """One operation adding or removing a list of members: path "members", value [{"value": id}, ...]."""
    return patch({"op": op, "path": "members", "value": [{"value": member} for member in member_ids]})


def member_filter_removal(member_ids: list[str]) -> dict[str, Any]:
    """One `remove members[value eq "<id>"]` operation per member (Okta/RFC 7644 §3.5.2.2 form)."""
    return patch(*({"op": "remove", "path": f'members[value eq "{member}"]'} for member in member_ids))
