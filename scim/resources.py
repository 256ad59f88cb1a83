"""SCIM resource bodies: tolerant reader, strict writer.

`parse_resource` turns whatever an IdP sent into the canonical stored form: schema casing,
core attributes at the top level, each extension under its RFC URN, values coerced to the
schema's types, unassigned values (null, "", []) left out. `coerce_value` is the single place
where a value is checked against its attribute; PATCH uses it too.
"""

from __future__ import annotations

import base64
import binascii
import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Final

from scim.errors import ScimError, invalid_syntax, invalid_value, mutability
from scim.quirks import Quirk, QuirkLog
from scim.schema import (
    COMMON_ATTRIBUTES,
    GROUP_SCHEMA,
    RESOURCE_TYPES,
    Attribute,
    ResourceType,
    Schema,
    canonical_schema_urn,
    resolve_path,
    schema_for_path,
)

if TYPE_CHECKING:
    from scim.filter import AttrPath


class _Unassigned:
    """Marker for "no value": null, "", [] and {} all unassign an attribute (RFC 7643 §2.5)."""

    _instance: _Unassigned | None = None

    def __new__(cls) -> _Unassigned:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNASSIGNED"

    def __bool__(self) -> bool:
        return False


UNASSIGNED: Final = _Unassigned()

_MEMBERS = GROUP_SCHEMA.attr("members")
_MEMBER_TYPES = {"user": "User", "group": "Group"}

# Sub-attribute names some IdPs use instead of the RFC ones: (attribute, lowercased key) -> (sub, quirk).
_SUB_ATTRIBUTE_ALIASES: dict[tuple[str, str], tuple[str, Quirk]] = {
    ("manager", "managerid"): ("value", Quirk.MANAGER_ID_KEY),  # OneLogin templates
}
# Explicit nulls that have their own quirk name rather than NULL_ATTRIBUTE.
_NULL_QUIRKS: dict[tuple[str, str], Quirk] = {("members", "$ref"): Quirk.MEMBER_NULL_REF}

_XSD_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})?$")
_TYPE_NAMES = {
    "string": "a string",
    "reference": "a URI string",
    "boolean": "a boolean",
    "integer": "an integer",
    "decimal": "a number",
    "dateTime": "an xsd:dateTime string such as 2008-01-23T04:56:22Z",
    "binary": "a base64-encoded string",
    "complex": "an object",
}


# A user's multi-valued attribute (emails, phoneNumbers, ...) holds at most this many values, which
# keeps every PATCH operation on it O(1) and a PATCH linear in its operations. Group members are
# not capped here: they are changed in SQL as set operations.
MAX_VALUES_PER_ATTRIBUTE = 100


def check_value_count(attribute: Attribute, count: int, label: str) -> None:
    if count > MAX_VALUES_PER_ATTRIBUTE and attribute is not _MEMBERS:
        raise invalid_value(f"{label} holds more than {MAX_VALUES_PER_ATTRIBUTE} values")


# -- value coercion --------------------------------------------------------------------------


def coerce_value(attribute: Attribute, value: Any, quirks: QuirkLog, *, label: str | None = None) -> Any:
    """Check and normalise one attribute value; returns UNASSIGNED for null/empty values.

    readOnly sub-attributes and unknown sub-attributes are dropped; errors are invalidValue and
    name the attribute, never the value (it may be a password).
    """
    label = label or attribute.name
    if value is None:
        quirks.record(Quirk.NULL_ATTRIBUTE, label)
        return UNASSIGNED
    if attribute.multi_valued:
        return _coerce_multi(attribute, value, quirks, label)
    if isinstance(value, list):
        if not value:
            return UNASSIGNED
        if attribute.type != "complex" or len(value) > 1:
            raise invalid_value(f"{label} is single-valued; a list was given")
        # Entra sends manager as [{"value": ...}]
        quirks.record(Quirk.LIST_FOR_SINGLE_VALUED, label)
        return coerce_value(attribute, value[0], quirks, label=label)
    if attribute.type == "complex" and isinstance(value, str) and attribute.sub("value") is not None:
        # Entra sends the manager as its bare id: "manager": "<id>" (create) or a PATCH value "<id>".
        if not value:
            quirks.record(Quirk.EMPTY_STRING_CLEARS, label)
            return UNASSIGNED
        quirks.record(Quirk.BARE_ID_FOR_REFERENCE, label)
        return _coerce_complex(attribute, {"value": value}, quirks, label)
    if attribute.type == "complex":
        return _coerce_complex(attribute, value, quirks, label)
    return _coerce_simple(attribute, value, quirks, label)


def _coerce_multi(attribute: Attribute, value: Any, quirks: QuirkLog, label: str) -> Any:
    if isinstance(value, list):
        items = value
    else:
        quirks.record(Quirk.SINGLE_OBJECT_FOR_MULTI_VALUED, label)
        items = [value]
    check_value_count(attribute, len(items), label)
    elements: list[Any] = []
    for item in items:
        if item is None:
            continue
        if isinstance(item, list):
            raise invalid_value(f"{label} values must not be nested lists")
        if attribute.type == "complex":
            element = _coerce_complex(attribute, item, quirks, label)
            if attribute is _MEMBERS:
                element = _check_member({} if element is UNASSIGNED else element, quirks)
        else:
            element = _coerce_simple(attribute, item, quirks, label)
        if element is not UNASSIGNED:
            elements.append(element)
    if not elements:
        return UNASSIGNED
    resolve_primary_conflict(elements, quirks, label)
    return elements


def _coerce_complex(attribute: Attribute, value: Any, quirks: QuirkLog, label: str) -> Any:
    if not isinstance(value, Mapping):
        raise invalid_value(f"{label} must be an object")
    result: dict[str, Any] = {}
    for key, raw in value.items():
        sub = attribute.sub(key)
        if sub is None:
            alias = _SUB_ATTRIBUTE_ALIASES.get((attribute.name, key.lower()))
            if alias is None:
                continue  # unknown sub-attribute of a known attribute: dropped, not fatal
            sub = attribute.sub(alias[0])
            quirks.record(alias[1], label)
            if sub is None:  # pragma: no cover - aliases name real sub-attributes
                continue
        if sub.mutability == "readOnly":
            continue
        sub_label = f"{label}.{sub.name}"
        if raw is None:
            quirks.record(_NULL_QUIRKS.get((attribute.name, sub.name), Quirk.NULL_ATTRIBUTE), sub_label)
            continue
        coerced = coerce_value(sub, raw, quirks, label=sub_label)
        if coerced is not UNASSIGNED:
            result[sub.name] = coerced
    return result or UNASSIGNED


def _check_member(member: dict[str, Any], quirks: QuirkLog) -> dict[str, Any]:
    if "value" not in member:
        raise invalid_value("Every member needs a value (the member's id)")
    kind = member.get("type")
    if kind is None:
        # The service treats an untyped member as a User (Okta and JumpCloud omit the type).
        quirks.record(Quirk.MEMBER_MISSING_TYPE, "members.type")
        return member
    canonical = _MEMBER_TYPES.get(str(kind).lower())
    if canonical is None:
        raise invalid_value("members.type must be User or Group")
    member["type"] = canonical
    return member


def _coerce_simple(attribute: Attribute, value: Any, quirks: QuirkLog, label: str) -> Any:
    if isinstance(value, Mapping):
        raise invalid_value(f"{label} must be {_TYPE_NAMES[attribute.type]}, not an object")
    if value == "" and isinstance(value, str):
        quirks.record(Quirk.EMPTY_STRING_CLEARS, label)
        return UNASSIGNED
    kind = attribute.type
    if kind in ("string", "reference") and isinstance(value, str):
        return value
    if kind == "boolean":
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("true", "false"):
            quirks.record(Quirk.STRING_BOOLEAN, label)
            return value.lower() == "true"
    elif kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind == "decimal":
        if isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value):
            return value
    elif kind == "dateTime":
        if isinstance(value, str) and is_xsd_datetime(value):
            return value
    elif kind == "binary" and isinstance(value, str) and _is_base64(value):
        return value
    raise invalid_value(f"{label} must be {_TYPE_NAMES.get(kind, kind)}")


def is_xsd_datetime(text: str) -> bool:
    if not _XSD_DATETIME.match(text):
        return False
    try:
        datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


def _is_base64(text: str) -> bool:
    compact = "".join(text.split())
    try:
        base64.b64decode(compact, validate=True)
    except (binascii.Error, ValueError):
        return False
    return bool(compact)


def resolve_primary_conflict(
    elements: list[Any], quirks: QuirkLog | None, label: str, *, preferred: Iterable[int] = ()
) -> None:
    """Leave at most one element with primary=true (RFC 7643 §2.4, RFC 7644 §3.5.2).

    The winner is the last of `preferred` (elements this write touched) that is primary, else
    the last primary element. A conflict inside one request is recorded as a quirk.
    """
    flagged = [i for i, e in enumerate(elements) if isinstance(e, dict) and e.get("primary") is True]
    if len(flagged) < 2:
        return
    chosen = [i for i in preferred if i in flagged]
    winner = chosen[-1] if chosen else flagged[-1]
    if quirks is not None:
        quirks.record(Quirk.PRIMARY_CONFLICT, label)
    for i in flagged:
        if i != winner:
            elements[i]["primary"] = False


# -- parsing a whole resource ----------------------------------------------------------------


def parse_resource(body: Any, rtype: ResourceType, quirks: QuirkLog) -> dict[str, Any]:
    """A POST/PUT body -> the canonical resource dict (readOnly values dropped, writeOnly kept)."""
    if not isinstance(body, Mapping):
        raise invalid_syntax(f"A {rtype.name} must be a JSON object")
    _check_declared_schemas(body, rtype, quirks)
    core: dict[str, Any] = {}
    extensions: dict[str, dict[str, Any]] = {}
    for key, value in body.items():
        if not isinstance(key, str) or key.lower() == "schemas":
            continue
        attribute = rtype.attribute(key)
        if attribute is not None:
            if attribute.mutability == "readOnly":
                if attribute.name == "groups":
                    quirks.record(Quirk.MEMBERS_IN_USER_BODY_IGNORED, "groups")
                continue
            coerced = coerce_value(attribute, value, quirks)
            if coerced is not UNASSIGNED:
                core[attribute.name] = coerced
            continue
        urn, aliased = canonical_schema_urn(rtype, key)
        if urn is None or urn == rtype.schema.id:
            continue  # unknown top-level attributes are ignored
        if aliased:
            quirks.record(Quirk.NONSTANDARD_SCHEMA_URN, key)
        extension = rtype.schema_by_urn(urn)
        assert extension is not None
        data = _parse_extension(extension, value, quirks)
        if data:
            extensions.setdefault(urn, {}).update(data)
    for attribute in rtype.schema.attributes:
        if attribute.required and attribute.name not in core:
            raise invalid_value(f"{attribute.name} is required")
    for extension, required in rtype.extensions:
        if required and extension.id not in extensions:
            raise invalid_value(f"The {extension.id} extension is required")
    return _assemble(rtype, core, extensions)


def _check_declared_schemas(body: Mapping[str, Any], rtype: ResourceType, quirks: QuirkLog) -> None:
    declared = next((v for k, v in body.items() if isinstance(k, str) and k.lower() == "schemas"), UNASSIGNED)
    if declared is UNASSIGNED or declared is None:
        return  # lenient: the server rebuilds schemas anyway
    if not isinstance(declared, list) or not all(isinstance(u, str) for u in declared):
        raise invalid_syntax("schemas must be an array of schema URNs")
    own_core = False
    foreign_core: str | None = None
    for urn in declared:
        canonical, aliased = canonical_schema_urn(rtype, urn)
        if canonical is None:
            other = next((rt for rt in RESOURCE_TYPES.values() if rt.schema.id.lower() == urn.lower()), None)
            if other is not None and other is not rtype:
                foreign_core = urn
            else:
                quirks.record(Quirk.NONSTANDARD_SCHEMA_URN, urn)  # unknown vendor URN: ignored
            continue
        if aliased:
            quirks.record(Quirk.NONSTANDARD_SCHEMA_URN, urn)
        own_core = own_core or canonical == rtype.schema.id
    if foreign_core is not None and not own_core:
        raise invalid_syntax(f"schemas lists {foreign_core}, but this endpoint takes {rtype.schema.id}")


def _parse_extension(extension: Schema, value: Any, quirks: QuirkLog) -> dict[str, Any]:
    if value is None:
        quirks.record(Quirk.NULL_ATTRIBUTE, extension.id)
        return {}
    if not isinstance(value, Mapping):
        raise invalid_value(f"{extension.id} must be an object")
    data: dict[str, Any] = {}
    for key, raw in value.items():
        attribute = extension.attr(key) if isinstance(key, str) else None
        if attribute is None or attribute.mutability == "readOnly":
            continue
        coerced = coerce_value(attribute, raw, quirks)
        if coerced is not UNASSIGNED:
            data[attribute.name] = coerced
    return data


def _assemble(rtype: ResourceType, core: Mapping[str, Any], extensions: Mapping[str, Any]) -> dict[str, Any]:
    """Canonical key order: schemas, common attributes, core attributes, extensions."""
    result: dict[str, Any] = {"schemas": schemas_for(rtype, extensions)}
    for attribute in (*COMMON_ATTRIBUTES, *rtype.schema.attributes):
        if attribute.name in core:
            result[attribute.name] = core[attribute.name]
    for key, value in core.items():
        result.setdefault(key, value)
    for extension, _ in rtype.extensions:
        if extensions.get(extension.id):
            result[extension.id] = extensions[extension.id]
    return result


def schemas_for(rtype: ResourceType, resource: Mapping[str, Any]) -> list[str]:
    """`schemas` as the server writes it: the core URN plus every extension present (C-26, C-27)."""
    return [rtype.schema.id] + [ext.id for ext, _ in rtype.extensions if resource.get(ext.id)]


# -- projection (RFC 7644 §3.4.2.5, RFC 7643 §2.2 "returned") -------------------------------


@dataclass
class _Selection:
    whole_schemas: set[str] = field(default_factory=set)
    # (schema id, attribute name) -> named sub-attributes, or None for the whole attribute
    attrs: dict[tuple[str, str], set[str] | None] = field(default_factory=dict)

    def whole(self, schema_id: str, name: str) -> bool:
        return schema_id in self.whole_schemas or (
            (schema_id, name) in self.attrs and self.attrs[(schema_id, name)] is None
        )

    def subs(self, schema_id: str, name: str) -> set[str] | None:
        return self.attrs.get((schema_id, name))

    def names(self, schema_id: str, name: str) -> bool:
        return schema_id in self.whole_schemas or (schema_id, name) in self.attrs


def _selection(rtype: ResourceType, paths: Sequence[AttrPath]) -> _Selection:
    selection = _Selection()
    for path in paths:
        whole = schema_for_path(rtype, path)
        if whole is not None:
            selection.whole_schemas.add(whole.id)
            continue
        try:
            resolved = resolve_path(rtype, path)
        except ScimError:
            continue  # unknown names in attributes/excludedAttributes are ignored
        key = (resolved.schema.id, resolved.attribute.name)
        if resolved.sub is None:
            selection.attrs[key] = None
        elif key not in selection.attrs or selection.attrs[key] is not None:
            named = selection.attrs.setdefault(key, set())
            assert named is not None
            named.add(resolved.sub.name)
    return selection


def project(
    resource: Mapping[str, Any],
    rtype: ResourceType,
    *,
    attributes: Sequence[AttrPath] | None = None,
    excluded: Sequence[AttrPath] | None = None,
) -> dict[str, Any]:
    """Apply the returned characteristics and attributes/excludedAttributes to a full resource.

    RFC 7644 makes the two lists mutually exclusive; if both are given, `attributes` selects
    and `excluded` then removes from the selection.
    """
    wanted = _selection(rtype, attributes) if attributes else None
    unwanted = _selection(rtype, excluded) if excluded else None
    result: dict[str, Any] = {}
    for key, value in resource.items():
        if key == "schemas":
            result[key] = value
            continue
        extension = rtype.schema_by_urn(key)
        if extension is not None and extension is not rtype.schema:
            if isinstance(value, Mapping):
                projected = _project_object(extension, value, wanted, unwanted)
                if projected:
                    result[key] = projected
            continue
        attribute = rtype.attribute(key)
        if attribute is None:
            if wanted is None:
                result[key] = value  # a server-rendered key the schema doesn't know: default
            continue
        kept = _project_attribute(rtype.schema.id, attribute, value, wanted, unwanted)
        if kept is not UNASSIGNED:
            result[attribute.name] = kept
    if isinstance(result.get("schemas"), list):
        extension_ids = {ext.id for ext, _ in rtype.extensions}
        result["schemas"] = [s for s in result["schemas"] if s not in extension_ids or s in result]
    return result


def _project_object(
    schema: Schema, value: Mapping[str, Any], wanted: _Selection | None, unwanted: _Selection | None
) -> dict[str, Any]:
    result: dict[str, Any] = {}
    for key, item in value.items():
        attribute = schema.attr(key)
        if attribute is None:
            continue
        kept = _project_attribute(schema.id, attribute, item, wanted, unwanted)
        if kept is not UNASSIGNED:
            result[attribute.name] = kept
    return result


def _project_attribute(
    schema_id: str, attribute: Attribute, value: Any, wanted: _Selection | None, unwanted: _Selection | None
) -> Any:
    name = attribute.name
    if attribute.returned == "never":
        return UNASSIGNED
    if attribute.returned == "always":
        return _project_subs(attribute, value, None, None)
    keep_subs: set[str] | None = None
    if wanted is not None:
        if not wanted.names(schema_id, name):
            return UNASSIGNED
        keep_subs = None if wanted.whole(schema_id, name) else wanted.subs(schema_id, name)
    elif attribute.returned == "request":
        return UNASSIGNED
    drop_subs: set[str] | None = None
    if unwanted is not None and unwanted.names(schema_id, name):
        if unwanted.whole(schema_id, name):
            return UNASSIGNED
        drop_subs = unwanted.subs(schema_id, name)
    return _project_subs(attribute, value, keep_subs, drop_subs)


def _project_subs(attribute: Attribute, value: Any, keep: set[str] | None, drop: set[str] | None) -> Any:
    if attribute.type != "complex":
        return value

    def element(item: Any) -> Any:
        if not isinstance(item, Mapping):
            return item
        out: dict[str, Any] = {}
        for key, sub_value in item.items():
            sub = attribute.sub(key)
            if sub is None:
                if keep is None:
                    out[key] = sub_value
                continue
            if sub.returned == "never" or (drop and sub.name in drop and sub.returned != "always"):
                continue
            if sub.returned != "always":
                if keep is not None and sub.name not in keep:
                    continue
                if keep is None and sub.returned == "request":
                    continue
            out[sub.name] = sub_value
        return out or UNASSIGNED

    if isinstance(value, list):
        elements = [e for e in (element(item) for item in value) if e is not UNASSIGNED]
        return elements or UNASSIGNED
    return element(value)


# -- PUT -------------------------------------------------------------------------------------


def same_value(attribute: Attribute | None, old: Any, new: Any) -> bool:
    """Equality as the attribute's caseExact characteristic defines it (RFC 7643 §2.3.1)."""
    if isinstance(old, str) and isinstance(new, str) and not (attribute and attribute.case_exact):
        return old.casefold() == new.casefold()
    return bool(old == new)


def _containers(
    rtype: ResourceType, resource: Mapping[str, Any]
) -> Iterable[tuple[Schema, tuple[Attribute, ...], Mapping[str, Any]]]:
    yield rtype.schema, (*COMMON_ATTRIBUTES, *rtype.schema.attributes), resource
    for extension, _ in rtype.extensions:
        data = resource.get(extension.id)
        yield extension, extension.attributes, data if isinstance(data, Mapping) else {}


def check_immutable(old: Mapping[str, Any], new: Mapping[str, Any], rtype: ResourceType) -> None:
    """Reject a replacement that changes an immutable attribute that is already set (RFC 7643 §2.2).

    Immutable sub-attributes are checked inside single-valued complex attributes; elements of a
    multi-valued attribute have no identity across a replacement, so new elements are new values.
    """
    for (_, attributes, old_data), (_, _, new_data) in zip(
        _containers(rtype, old), _containers(rtype, new), strict=True
    ):
        for attribute in attributes:
            before, after = old_data.get(attribute.name), new_data.get(attribute.name)
            if before is None or after is None:
                continue
            if attribute.mutability == "immutable" and not same_value(attribute, before, after):
                raise mutability(f"{attribute.name} is immutable and cannot be changed")
            if attribute.type == "complex" and isinstance(before, Mapping) and isinstance(after, Mapping):
                for sub in attribute.sub_attributes:
                    if sub.mutability != "immutable":
                        continue
                    sub_before, sub_after = before.get(sub.name), after.get(sub.name)
                    if (
                        sub_before is not None
                        and sub_after is not None
                        and not same_value(sub, sub_before, sub_after)
                    ):
                        raise mutability(f"{attribute.name}.{sub.name} is immutable and cannot be changed")


def merge_for_replace(old: Mapping[str, Any], new: Mapping[str, Any], rtype: ResourceType) -> dict[str, Any]:
    """PUT semantics (RFC 7644 §3.5.1) on canonical dicts.

    readWrite attributes not supplied are cleared, readOnly ones are kept from the stored
    resource, immutable ones must match (or are kept when omitted), and an omitted writeOnly
    attribute (password) is left unchanged.
    """
    check_immutable(old, new, rtype)
    core: dict[str, Any] = {}
    extensions: dict[str, dict[str, Any]] = {}
    for (schema, attributes, old_data), (_, _, new_data) in zip(
        _containers(rtype, old), _containers(rtype, new), strict=True
    ):
        target = core if schema is rtype.schema else extensions.setdefault(schema.id, {})
        for attribute in attributes:
            name = attribute.name
            if attribute.mutability == "readOnly" or (
                attribute.mutability in ("writeOnly", "immutable") and new_data.get(name) is None
            ):
                if old_data.get(name) is not None:
                    target[name] = old_data[name]
            elif new_data.get(name) is not None:
                target[name] = _keep_read_only_subs(attribute, old_data.get(name), new_data[name])
    known = {a.name for _, attrs, _ in _containers(rtype, old) for a in attrs} | {
        e.id for e, _ in rtype.extensions
    }
    known.add("schemas")
    for key, value in new.items():
        if key not in known:
            core[key] = value
    for key, value in old.items():
        if key not in known:
            core.setdefault(key, value)  # server-owned keys the schema doesn't describe
    return _assemble(rtype, core, {k: v for k, v in extensions.items() if v})


def _keep_read_only_subs(attribute: Attribute, before: Any, after: Any) -> Any:
    if attribute.type != "complex" or attribute.multi_valued:
        return after
    if not isinstance(before, Mapping) or not isinstance(after, Mapping):
        return after
    merged = dict(after)
    for sub in attribute.sub_attributes:
        if sub.mutability == "readOnly" and sub.name in before:
            merged.setdefault(sub.name, before[sub.name])
    return merged
