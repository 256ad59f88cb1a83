"""SCIM attribute -> app field mapping: what the SaaS app sees of a SCIM user.

The app fields are defined once here. The effective mapping of a tenant is the common mapping,
then its IdP profile's overrides, then the tenant's own choices (directory.attribute_mappings).
Mapping reads a canonical SCIM resource dict; it never touches the database itself.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from scim.filter import FilterError, PatchPath, PathError, evaluate, parse_patch_path
from scim.schema import ENTERPRISE_USER_SCHEMA

ENTERPRISE = ENTERPRISE_USER_SCHEMA.id

CUSTOM_FIELD_PREFIX = "custom."


@dataclass(frozen=True)
class AppField:
    """A field the SaaS app reads about a user, filled from one SCIM path by the mapping."""

    key: str
    label: str
    common_path: str  # Rollcall's default source; IdP profiles override some (scim.idp.*.mapping_overrides)
    max_length: int = 255
    column: str | None = None  # the DirectoryUser column, or None: kept in DirectoryUser.extra_fields
    user_reference: bool = False  # the value is another user's SCIM id (manager)
    required: bool = False  # the app needs a value; an empty one is flagged in the mapping preview


APP_FIELDS: tuple[AppField, ...] = (
    AppField("email", "Email", "emails", 512, column="email", required=True),
    AppField("given_name", "Given name", "name.givenName", column="given_name", required=True),
    AppField("family_name", "Family name", "name.familyName", column="family_name", required=True),
    AppField("display_name", "Display name", "displayName", 512, column="display_name"),
    AppField("title", "Job title", "title", column="title"),
    AppField("department", "Department", f"{ENTERPRISE}:department", column="department"),
    AppField("employee_number", "Employee number", f"{ENTERPRISE}:employeeNumber", column="employee_number"),
    AppField("manager", "Manager", f"{ENTERPRISE}:manager.value", 64, column="manager_id", user_reference=True),
    AppField("cost_center", "Cost center", f"{ENTERPRISE}:costCenter"),
    AppField("phone", "Phone", "phoneNumbers", 64),
    AppField("locale", "Locale", "locale", 64),
)
APP_FIELDS_BY_KEY: dict[str, AppField] = {f.key: f for f in APP_FIELDS}
# Used when neither the tenant nor its IdP profile says otherwise.
COMMON_MAPPING: dict[str, str] = {f.key: f.common_path for f in APP_FIELDS}


CUSTOM_NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,47}$")


def custom_field(key: str) -> AppField:
    """A field a tenant added ("custom.<name>"), kept in extra_fields."""
    return AppField(key, key[len(CUSTOM_FIELD_PREFIX) :].replace("_", " ").capitalize(), "", 512)


def custom_field_key(label: str) -> str:
    """The key a custom field named `label` is stored under: "Badge number" -> "custom.badge_number".

    Raises ValueError when nothing usable is left (the message says what a name may contain)."""
    name = re.sub(r"[^a-z0-9]+", "_", label.strip().lower()).strip("_")
    if not CUSTOM_NAME_RE.match(name):
        raise ValueError("Use letters and digits, starting with a letter (at most 48 characters).")
    return CUSTOM_FIELD_PREFIX + name


def app_field(key: str) -> AppField | None:
    """The builtin or custom field named `key`; None when the key is neither."""
    if key in APP_FIELDS_BY_KEY:
        return APP_FIELDS_BY_KEY[key]
    if key.startswith(CUSTOM_FIELD_PREFIX) and len(key) > len(CUSTOM_FIELD_PREFIX):
        return custom_field(key)
    return None


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


def map_user(resource: Mapping[str, Any], mapping: Mapping[str, str]) -> dict[str, str]:
    """App field values (builtin and custom) for a canonical SCIM user resource, as bounded strings."""
    fields: dict[str, str] = {}
    for key, path in mapping.items():
        spec = app_field(key)
        if spec is None:
            continue
        value = read_path(resource, path) if path else None
        fields[key] = _as_text(value)[: spec.max_length]
    for spec in APP_FIELDS:
        fields.setdefault(spec.key, "")
    return fields


def _as_text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (dict, list)):
        return ""  # a whole complex value is not a field value; map a sub-attribute instead
    return str(value)
