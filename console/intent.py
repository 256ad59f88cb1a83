"""What a logged SCIM request meant for one person: create, deactivate, reactivate, delete, group removal...

Pure functions over the request-log row (method, path, redacted body). The verdict asks "did the IdP
ever try to take this person's access away?", so deactivation is recognised in every dialect an
IdP uses, including the ones Rollcall refuses or that change nothing: PATCH active=false (with or
without a path, as a boolean or a string), PUT with active=false, DELETE, removing `active`, and
the same inside /Bulk operations.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from enum import StrEnum
from typing import Any

FALSE_WORDS = frozenset({"false", "0", "no", "off", "inactive", "disabled", "deactivated", "suspended"})
TRUE_WORDS = frozenset({"true", "1", "yes", "on", "active", "enabled"})


class Intent(StrEnum):
    LOOKUP = "lookup"
    CREATE = "create"
    UPDATE = "update"
    DEACTIVATE = "deactivate"
    CLEAR_ACTIVE = "clear_active"  # removes `active`: IdPs mean "deactivate", SCIM means "unset" (= true)
    REACTIVATE = "reactivate"
    DELETE = "delete"
    GROUP_ADD = "group_add"
    GROUP_REMOVE = "group_remove"
    GROUP_OTHER = "group_other"

    @property
    def takes_access_away(self) -> bool:
        return self in (Intent.DEACTIVATE, Intent.CLEAR_ACTIVE, Intent.DELETE)


def _lower_keys(value: Any) -> dict[str, Any]:
    return {str(k).lower(): v for k, v in value.items()} if isinstance(value, Mapping) else {}


def active_value(value: Any) -> bool | None:
    """False / True when `value` reads as an active flag (booleans, numbers, words), else None."""
    if isinstance(value, bool):
        return value
    if isinstance(value, int | float):
        return bool(value)
    if isinstance(value, str):
        word = value.strip().lower()
        if word in FALSE_WORDS:
            return False
        if word in TRUE_WORDS:
            return True
    return None


def _active_intent(value: Any) -> Intent:
    flag = active_value(value)
    if flag is True:
        return Intent.REACTIVATE
    # False, or something the IdP meant as a flag that does not read as one (it will be rejected).
    return Intent.DEACTIVATE


def _patch_user_intent(body: Any) -> Intent:
    operations = _lower_keys(body).get("operations")
    found = Intent.UPDATE
    for operation in operations if isinstance(operations, list) else []:
        op = _lower_keys(operation)
        name = str(op.get("op", "")).lower()
        path = str(op.get("path") or "").strip().lower()
        if path == "active":
            found = Intent.CLEAR_ACTIVE if name == "remove" else _active_intent(op.get("value"))
        elif not path and "active" in _lower_keys(op.get("value")):
            found = _active_intent(_lower_keys(op.get("value"))["active"])
    return found


def _mentions(value: Any, person_id: str) -> bool:
    return person_id.lower() in str(value).lower()


def _patch_group_intent(body: Any, person_id: str) -> Intent:
    operations = _lower_keys(body).get("operations")
    for operation in operations if isinstance(operations, list) else []:
        op = _lower_keys(operation)
        if not (_mentions(op.get("path", ""), person_id) or _mentions(op.get("value", ""), person_id)):
            continue
        name = str(op.get("op", "")).lower()
        if name == "remove":
            return Intent.GROUP_REMOVE
        if name == "add":
            return Intent.GROUP_ADD
        return Intent.GROUP_OTHER
    return Intent.GROUP_OTHER


def _resource(path: str) -> tuple[str, str]:
    """("users" | "groups" | "bulk" | "", resource id or "") from a request path."""
    parts = [p for p in path.split("/") if p]
    lowered = [p.lower() for p in parts]
    for index, part in enumerate(lowered):
        if part in ("users", "groups"):
            return part, parts[index + 1] if index + 1 < len(parts) else ""
        if part == "bulk":
            return "bulk", ""
    return "", ""


def request_intents(method: str, path: str, body: Any, person_id: str) -> list[Intent]:
    """Every intent the request had towards the person (a /Bulk request may have several)."""
    kind, resource_id = _resource(path)
    method = method.upper()
    if kind == "bulk":
        return [
            intent
            for op in _bulk_operations(body)
            if _mentions(op[1], person_id) or _mentions(op[2], person_id)
            for intent in request_intents(*op, person_id)
        ]
    if kind == "users":
        if method == "GET":
            return [Intent.LOOKUP]
        if method == "POST" and not resource_id:
            return [Intent.CREATE]
        if method == "DELETE":
            return [Intent.DELETE]
        if method == "PUT":
            document = _lower_keys(body)
            if "active" in document and active_value(document["active"]) is not True:
                return [_active_intent(document["active"])]
            return [Intent.UPDATE]
        if method == "PATCH":
            return [_patch_user_intent(body)]
        return []
    if kind == "groups" and method in ("PATCH", "PUT", "POST"):
        if method == "PATCH":
            return [_patch_group_intent(body, person_id)]
        return [Intent.GROUP_OTHER]
    return [Intent.LOOKUP] if method == "GET" else []


def _bulk_operations(body: Any) -> Iterator[tuple[str, str, Any]]:
    operations = _lower_keys(body).get("operations")
    for operation in operations if isinstance(operations, list) else []:
        op = _lower_keys(operation)
        yield str(op.get("method", "")), str(op.get("path", "")), op.get("data")


def strongest(intents: list[Intent]) -> Intent | None:
    """The intent that matters most to a deprovisioning question."""
    order = [
        Intent.DELETE,
        Intent.DEACTIVATE,
        Intent.CLEAR_ACTIVE,
        Intent.REACTIVATE,
        Intent.CREATE,
        Intent.GROUP_REMOVE,
        Intent.GROUP_ADD,
        Intent.UPDATE,
        Intent.GROUP_OTHER,
        Intent.LOOKUP,
    ]
    return next((i for i in order if i in intents), None)
