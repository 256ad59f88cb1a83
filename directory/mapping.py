"""SCIM attribute -> app field mapping: what the SaaS app sees of a SCIM user.

A tenant's AttributeMapping rows override the defaults of its connection's IdP profile.
Mapping reads a canonical SCIM resource dict; it never touches the database itself.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from scim.filter import FilterError, PatchPath, PathError, evaluate, parse_patch_path
from scim.schema import ENTERPRISE_USER_SCHEMA

ENTERPRISE = ENTERPRISE_USER_SCHEMA.id

APP_FIELDS: tuple[str, ...] = (
    "user_name",
    "external_id",
    "email",
    "given_name",
    "family_name",
    "display_name",
    "title",
    "department",
    "employee_number",
    "manager",
    "cost_center",
    "phone",
    "locale",
)

# Used when neither the tenant nor its IdP profile says otherwise.
DEFAULT_MAPPING: dict[str, str] = {
    "user_name": "userName",
    "external_id": "externalId",
    "email": "emails",
    "given_name": "name.givenName",
    "family_name": "name.familyName",
    "display_name": "displayName",
    "title": "title",
    "department": f"{ENTERPRISE}:department",
    "employee_number": f"{ENTERPRISE}:employeeNumber",
    "manager": f"{ENTERPRISE}:manager.value",
    "cost_center": f"{ENTERPRISE}:costCenter",
    "phone": "phoneNumbers",
    "locale": "locale",
}


@lru_cache(maxsize=512)
def _parsed(path: str) -> PatchPath:
    return parse_patch_path(path)


def _get_ci(obj: Mapping[str, Any], key: str) -> Any:
    if key in obj:
        return obj[key]
    lowered = key.lower()
    for k, v in obj.items():
        if k.lower() == lowered:
            return v
    return None


def _pick_value(values: list[Any]) -> Any:
    """A multi-valued attribute read as one value: the primary one, else the first."""
    dicts = [v for v in values if isinstance(v, Mapping)]
    for v in dicts:
        if v.get("primary") is True:
            return v.get("value")
    if dicts:
        return dicts[0].get("value")
    return values[0] if values else None


def read_path(resource: Mapping[str, Any], path: str) -> Any:
    """The value at a SCIM path in a canonical resource, or None. Multi-valued reads pick primary/first."""
    try:
        parsed = _parsed(path)
    except (PathError, FilterError):
        return None
    container: Mapping[str, Any] = resource
    if parsed.attr.urn and parsed.attr.urn.lower() != "urn:ietf:params:scim:schemas:core:2.0:user":
        ext = _get_ci(resource, parsed.attr.urn)
        if not isinstance(ext, Mapping):
            return None
        container = ext
    value = _get_ci(container, parsed.attr.attr)
    if value is None:
        return None
    if isinstance(value, list):
        if parsed.value_filter is not None:
            value = [v for v in value if isinstance(v, Mapping) and evaluate(parsed.value_filter, v)]
        sub = parsed.sub_attr or parsed.attr.sub_attr
        if sub:
            for element in value:
                if isinstance(element, Mapping) and element.get("primary") is True:
                    return _get_ci(element, sub)
            return _get_ci(value[0], sub) if value and isinstance(value[0], Mapping) else None
        return _pick_value(value)
    if parsed.attr.sub_attr:
        return _get_ci(value, parsed.attr.sub_attr) if isinstance(value, Mapping) else None
    return value


def map_user(resource: Mapping[str, Any], mapping: Mapping[str, str]) -> dict[str, Any]:
    """App fields for a canonical SCIM user resource."""
    fields: dict[str, Any] = {}
    for app_field in APP_FIELDS:
        path = mapping.get(app_field)
        value = read_path(resource, path) if path else None
        fields[app_field] = "" if value is None else value
    return fields
