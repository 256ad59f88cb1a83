"""The SCIM PATCH engine (RFC 7644 §3.5.2) over canonical resource dicts, plus the IdP shapes.

`apply_patch` is pure and atomic: it works on a deep copy and either returns the patched
resource or raises ScimError. Group membership is not patched in memory by the service:
`split_member_operations` turns member operations into `MemberChange`s it can run in SQL.
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from scim.errors import (
    ScimError,
    invalid_filter,
    invalid_path,
    invalid_syntax,
    invalid_value,
    mutability,
    no_target,
)
from scim.filter import (
    And,
    AttrPath,
    Comparison,
    FilterError,
    PatchPath,
    PathError,
    evaluate,
    parse_attr_path,
    parse_patch_path,
)
from scim.quirks import Quirk, QuirkLog
from scim.resources import (
    UNASSIGNED,
    check_value_count,
    coerce_value,
    resolve_primary_conflict,
    same_value,
    schemas_for,
)
from scim.schema import (
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
    from scim.filter import Filter

PATCH_OP_URN = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
OPS = ("add", "remove", "replace")


@dataclass(frozen=True)
class PatchOperation:
    op: str  # "add" | "remove" | "replace"
    path: PatchPath | None = None
    value: Any = None
    raw_path: str | None = dataclasses.field(default=None, compare=False)  # as sent, for messages and logs


MemberChangeKind = Literal["add", "remove", "replace", "remove_all", "remove_where"]


@dataclass(frozen=True)
class MemberChange:
    """A Group membership change the service applies in SQL, O(delta)."""

    kind: MemberChangeKind
    members: tuple[dict[str, Any], ...] = ()  # {"value": id, "type"?: "User" | "Group"}
    where: Filter | None = None  # remove_where: the filter inside members[...]


# -- parsing ---------------------------------------------------------------------------------


def parse_patch_request(body: Any, quirks: QuirkLog) -> list[PatchOperation]:
    """A PatchOp message -> operations; structural problems are invalidSyntax (RFC 7644 §3.5.2)."""
    if not isinstance(body, Mapping):
        raise invalid_syntax("A PATCH body must be a JSON object")
    schemas = body.get("schemas")
    if schemas is not None and not _names_patch_op(schemas):
        raise invalid_syntax(f"schemas must contain {PATCH_OP_URN}")
    raw_ops = next((v for k, v in body.items() if isinstance(k, str) and k.lower() == "operations"), None)
    if not isinstance(raw_ops, list) or not raw_ops:
        raise invalid_syntax("Operations must be a non-empty array")
    return [_parse_operation(raw, index, quirks) for index, raw in enumerate(raw_ops)]


def _names_patch_op(schemas: Any) -> bool:
    return isinstance(schemas, list) and any(
        isinstance(s, str) and s.lower() == PATCH_OP_URN.lower() for s in schemas
    )


def _parse_operation(raw: Any, index: int, quirks: QuirkLog) -> PatchOperation:
    if not isinstance(raw, Mapping):
        raise invalid_syntax(f"Operation {index} must be an object")
    op = raw.get("op")
    if not isinstance(op, str) or op.lower() not in OPS:
        raise invalid_syntax(f"Operation {index}: op must be one of add, remove, replace")
    if op != op.lower():
        quirks.record(Quirk.OP_CAPITALISED, op)
        op = op.lower()
    raw_path = raw.get("path")
    path: PatchPath | None = None
    if raw_path is not None:
        if not isinstance(raw_path, str):
            raise invalid_path(f"Operation {index}: path must be a string")
        path = _parse_path(raw_path)
    value = raw.get("value")
    if op in ("add", "replace") and value is None:
        raise invalid_value(f"Operation {index}: {op} needs a value")
    if op == "remove" and path is None:
        raise no_target(f"Operation {index}: remove needs a path")
    return PatchOperation(op=op, path=path, value=value, raw_path=raw_path)


def _parse_path(text: str) -> PatchPath:
    try:
        return parse_patch_path(text)
    except PathError as exc:
        urn = _whole_schema_urn(text)
        if urn is not None:
            prefix, _, last = urn.rpartition(":")
            return PatchPath(AttrPath(prefix, last), None, None)
        raise invalid_path(f"Invalid path {text!r}: {exc}") from None
    except FilterError as exc:
        raise invalid_filter(f"Invalid filter in path {text!r}: {exc}") from None


def _whole_schema_urn(text: str) -> str | None:
    lowered = text.strip().lower()
    for rtype in RESOURCE_TYPES.values():
        for schema in rtype.schemas:
            if schema.id.lower() == lowered:
                return schema.id
    return None


# -- targets ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Target:
    schema: Schema
    attribute: Attribute
    sub: Attribute | None = None
    value_filter: Filter | None = None
    label: str = ""

    @property
    def leaf(self) -> Attribute:
        return self.sub or self.attribute


def _target_for_path(rtype: ResourceType, path: PatchPath, label: str) -> _Target | Schema:
    """The attribute a path names, or the whole schema when the path is an extension URN."""
    if path.value_filter is None and path.sub_attr is None:
        whole = schema_for_path(rtype, path.attr)
        if whole is not None:
            return whole
    resolved = resolve_path(rtype, path.attr)
    attribute, sub = resolved.attribute, resolved.sub
    if path.sub_attr is not None:
        if sub is not None or attribute.type != "complex":
            raise invalid_path(f"{label}: {attribute.name} has no sub-attribute {path.sub_attr}")
        sub = attribute.sub(path.sub_attr)
        if sub is None:
            raise invalid_path(f"{label}: unknown sub-attribute {attribute.name}.{path.sub_attr}")
    if path.value_filter is not None and attribute.type != "complex":
        raise invalid_path(f"{label}: value filters apply to complex attributes only")
    return _Target(resolved.schema, attribute, sub, path.value_filter, label)


def _check_writable(target: _Target) -> None:
    for attribute in (target.attribute, target.sub):
        if attribute is not None and attribute.mutability == "readOnly":
            raise mutability(f"{target.label} is readOnly")


# -- applying --------------------------------------------------------------------------------


def apply_patch(
    resource: Mapping[str, Any], ops: list[PatchOperation], rtype: ResourceType, quirks: QuirkLog
) -> dict[str, Any]:
    """Apply operations in order to a copy of `resource`; any failure leaves nothing applied."""
    doc: dict[str, Any] = copy.deepcopy(dict(resource))
    for op in ops:
        if op.path is None:
            _apply_pathless(doc, op.op, op.value, rtype, quirks)
            continue
        label = op.raw_path or _path_label(op.path)
        target = _target_for_path(rtype, op.path, label)
        if isinstance(target, Schema):
            _apply_to_schema(doc, op, target, rtype, quirks)
            continue
        _check_writable(target)
        _apply_to_target(doc, op.op, target, op.value, rtype, quirks)
    return _finish(doc, rtype)


def _finish(doc: dict[str, Any], rtype: ResourceType) -> dict[str, Any]:
    for extension, _ in rtype.extensions:
        if extension.id in doc and not doc[extension.id]:
            del doc[extension.id]
    rest = {k: v for k, v in doc.items() if k != "schemas"}
    return {"schemas": schemas_for(rtype, doc), **rest}


def _apply_to_target(
    doc: dict[str, Any], op: str, target: _Target, value: Any, rtype: ResourceType, quirks: QuirkLog
) -> None:
    container = _container(doc, target.schema, rtype)
    if op == "remove":
        _remove(container, target, value, quirks)
    elif target.value_filter is not None:
        _write_filtered(container, op, target, value, quirks)
    elif target.sub is not None:
        _write_sub(container, target, value, quirks)
    else:
        _write_attribute(container, op, target, value, quirks)


def _apply_to_schema(
    doc: dict[str, Any], op: PatchOperation, schema: Schema, rtype: ResourceType, quirks: QuirkLog
) -> None:
    if op.op == "remove":
        if schema is rtype.schema:
            raise mutability("The core schema cannot be removed")
        doc.pop(schema.id, None)
        return
    _apply_pathless(doc, op.op, {schema.id: op.value}, rtype, quirks)


def _apply_pathless(doc: dict[str, Any], op: str, value: Any, rtype: ResourceType, quirks: QuirkLog) -> None:
    """add/replace without a path: each key of the value object is applied as its own target."""
    if not isinstance(value, Mapping):
        raise invalid_value(f"{op} without a path needs an object value")
    for key, item in value.items():
        if not isinstance(key, str):
            raise invalid_path("Attribute names must be strings")
        for target, item_value in _pathless_targets(rtype, key, item, quirks):
            _apply_to_target(doc, op, target, item_value, rtype, quirks)


def _pathless_targets(
    rtype: ResourceType, key: str, value: Any, quirks: QuirkLog
) -> list[tuple[_Target, Any]]:
    lowered = key.lower()
    if lowered in ("schemas", "meta"):
        return []
    urn, aliased = canonical_schema_urn(rtype, key)
    if urn is not None:
        if aliased:
            quirks.record(Quirk.NONSTANDARD_SCHEMA_URN, key)
        schema = rtype.schema_by_urn(urn)
        assert schema is not None
        if not isinstance(value, Mapping):
            raise invalid_value(f"{schema.id} must be an object")
        targets: list[tuple[_Target, Any]] = []
        for inner_key, inner_value in value.items():
            if str(inner_key).lower() == "schemas":
                # scim2-models clients send the extension object with its own schemas list.
                quirks.record(Quirk.EXTENSION_SCHEMAS_KEY, schema.id)
                continue
            path = _parse_key(str(inner_key), quirks, record_urn=False)
            targets += _pathless_target(
                rtype, AttrPath(schema.id, path.attr, path.sub_attr), inner_value, quirks
            )
        return targets
    return _pathless_target(rtype, _parse_key(key, quirks, record_urn=True), value, quirks)


def _parse_key(key: str, quirks: QuirkLog, *, record_urn: bool) -> AttrPath:
    if record_urn and key.lower().startswith("urn:"):
        quirks.record(Quirk.PATHLESS_URN_KEY, key)
    elif "." not in key:
        return AttrPath(None, key)
    try:
        path = parse_attr_path(key)
    except (PathError, FilterError) as exc:
        raise invalid_path(f"Invalid attribute {key!r} in the value: {exc}") from None
    if path.sub_attr is not None:
        quirks.record(Quirk.PATHLESS_DOTTED_KEY, key)
    return path


def _pathless_target(
    rtype: ResourceType, path: AttrPath, value: Any, quirks: QuirkLog
) -> list[tuple[_Target, Any]]:
    resolved = resolve_path(rtype, path)
    if resolved.attribute.mutability == "readOnly" or (
        resolved.sub and resolved.sub.mutability == "readOnly"
    ):
        # Okta's group rename repeats the id; readOnly values in a path-less value are ignored.
        if resolved.attribute.name == "id":
            quirks.record(Quirk.PATHLESS_READONLY_ID, "id")
        return []
    label = resolved.attribute.name + (f".{resolved.sub.name}" if resolved.sub else "")
    return [(_Target(resolved.schema, resolved.attribute, resolved.sub, None, label), value)]


def _container(doc: dict[str, Any], schema: Schema, rtype: ResourceType) -> dict[str, Any]:
    """The dict holding the schema's attributes: the resource itself, or its extension object."""
    if schema is rtype.schema:
        return doc
    data = doc.get(schema.id)
    if not isinstance(data, dict):
        data = doc[schema.id] = {}
    return data


# -- writes ----------------------------------------------------------------------------------


def _guard_immutable(attribute: Attribute, old: Any, new: Any, label: str) -> None:
    """An immutable value may be set once; afterwards it may only be re-sent unchanged."""
    if attribute.mutability != "immutable" or old is None:
        return
    if new is UNASSIGNED or not same_value(attribute, old, new):
        raise mutability(f"{label} is immutable and cannot be changed")


def _guard_element(attribute: Attribute, old: Mapping[str, Any], new: Mapping[str, Any], label: str) -> None:
    for sub in attribute.sub_attributes:
        if sub.mutability == "immutable" and sub.name in old:
            after = new.get(sub.name, UNASSIGNED)
            _guard_immutable(sub, old[sub.name], after, f"{label}.{sub.name}")


def _unassign(container: dict[str, Any], attribute: Attribute, label: str, *, op: str) -> None:
    if attribute.required:
        if op == "remove":
            raise mutability(f"{label} is required and cannot be removed")
        raise invalid_value(f"{label} is required and cannot be empty")
    _guard_immutable(attribute, container.get(attribute.name), UNASSIGNED, label)
    container.pop(attribute.name, None)


def _write_attribute(
    container: dict[str, Any], op: str, target: _Target, value: Any, quirks: QuirkLog
) -> None:
    attribute, label = target.attribute, target.label
    coerced = coerce_value(attribute, value, quirks, label=label)
    if coerced is UNASSIGNED:
        _unassign(container, attribute, label, op=op)
        return
    current = container.get(attribute.name)
    if attribute.multi_valued:
        if op == "replace" or not isinstance(current, list):
            elements = coerced
            touched = list(range(len(elements)))
        else:
            elements, touched = _add_elements(attribute, current, coerced, label)
            check_value_count(attribute, len(elements), label)
        resolve_primary_conflict(elements, None, label, preferred=touched)
        container[attribute.name] = elements
    elif attribute.type == "complex" and isinstance(current, dict):
        # add and replace both merge into a complex attribute (RFC 7644 §3.5.2.1, §3.5.2.3)
        merged = {**current, **coerced}
        _guard_element(attribute, current, merged, label)
        container[attribute.name] = merged
    else:
        _guard_immutable(attribute, current, coerced, label)
        container[attribute.name] = coerced


def _add_elements(
    attribute: Attribute, current: list[Any], new: list[Any], label: str
) -> tuple[list[Any], list[int]]:
    """Append values not already present; a value already present is merged (a no-op when equal)."""
    elements = [copy.copy(e) for e in current]
    touched: list[int] = []
    for element in new:
        if any(_covers(attribute, e, element) for e in elements):
            continue
        index = next((i for i, e in enumerate(elements) if _same_element(attribute, e, element)), None)
        if index is None:
            elements.append(element)
            touched.append(len(elements) - 1)
        elif isinstance(element, dict) and isinstance(elements[index], dict):
            existing = elements[index]
            changed = {
                k: v
                for k, v in element.items()
                if not (k in existing and same_value(attribute.sub(k), existing[k], v))
            }
            merged = {**existing, **changed}
            _guard_element(attribute, elements[index], merged, label)
            if merged != elements[index]:
                elements[index] = merged
                touched.append(index)
    return elements, touched


def _covers(attribute: Attribute, existing: Any, new: Any) -> bool:
    """Whether `existing` already holds everything `new` says (then adding `new` is a no-op)."""
    if isinstance(existing, Mapping) and isinstance(new, Mapping):
        return all(k in existing and same_value(attribute.sub(k), existing[k], v) for k, v in new.items())
    return same_value(attribute, existing, new)


def _same_element(attribute: Attribute, a: Any, b: Any) -> bool:
    """Elements are the same value when their `value`s match and their types don't conflict."""
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        if "value" in a and "value" in b:
            if not same_value(attribute.sub("value"), a["value"], b["value"]):
                return False
            type_a, type_b = a.get("type"), b.get("type")
            return type_a is None or type_b is None or same_value(attribute.sub("type"), type_a, type_b)
        return dict(a) == dict(b)
    return same_value(attribute, a, b)


def _write_sub(container: dict[str, Any], target: _Target, value: Any, quirks: QuirkLog) -> None:
    """add/replace of `attr.sub` without a filter: the complex attribute, or every element of it."""
    attribute, sub, label = target.attribute, target.leaf, target.label
    coerced = coerce_value(sub, value, quirks, label=label)
    current = container.get(attribute.name)
    if attribute.multi_valued:
        elements = [dict(e) for e in current] if isinstance(current, list) else []
        if not elements:
            if coerced is UNASSIGNED:
                return
            elements = [{}]
        for element in elements:
            _set_sub(element, sub, coerced, label)
        _store_elements(container, attribute, [e for e in elements if e], label, touched=range(len(elements)))
        return
    complex_value = dict(current) if isinstance(current, dict) else {}
    _set_sub(complex_value, sub, coerced, label)
    if complex_value:
        container[attribute.name] = complex_value
    else:
        _unassign(container, attribute, attribute.name, op="replace")


def _set_sub(element: dict[str, Any], sub: Attribute, coerced: Any, label: str) -> None:
    _guard_immutable(sub, element.get(sub.name), coerced, label)
    if coerced is UNASSIGNED:
        element.pop(sub.name, None)
    else:
        element[sub.name] = coerced


def _store_elements(
    container: dict[str, Any], attribute: Attribute, elements: list[Any], label: str, *, touched: Any = ()
) -> None:
    if not elements:
        _unassign(container, attribute, label, op="remove")
        return
    resolve_primary_conflict(elements, None, label, preferred=list(touched))
    container[attribute.name] = elements


def _case_exact(attribute: Attribute) -> Callable[[AttrPath], bool]:
    def case_exact(path: AttrPath) -> bool:
        sub = attribute.sub(path.sub_attr or path.attr)
        return bool(sub and sub.case_exact)

    return case_exact


def _matching(container: dict[str, Any], target: _Target, quirks: QuirkLog) -> tuple[list[Any], list[int]]:
    """The attribute's values as a list, and the indexes of those the value filter selects."""
    attribute = target.attribute
    current = container.get(attribute.name)
    if attribute.multi_valued:
        elements = [copy.copy(e) for e in current] if isinstance(current, list) else []
    else:
        # Entra: manager[value eq "id"] on a single-valued complex attribute.
        quirks.record(Quirk.VALUE_FILTER_ON_SINGLE_VALUED, target.label)
        elements = [dict(current)] if isinstance(current, dict) else []
    assert target.value_filter is not None
    try:
        matches = [
            i
            for i, e in enumerate(elements)
            if isinstance(e, Mapping) and evaluate(target.value_filter, e, case_exact=_case_exact(attribute))
        ]
    except (FilterError, TypeError, ValueError) as exc:
        raise invalid_filter(f"{target.label}: {exc}") from None
    return elements, matches


def _put_back(container: dict[str, Any], target: _Target, elements: list[Any], touched: list[int]) -> None:
    attribute = target.attribute
    if attribute.multi_valued:
        _store_elements(container, attribute, [e for e in elements if e], target.label, touched=touched)
    elif elements and elements[0]:
        container[attribute.name] = elements[0]
    else:
        _unassign(container, attribute, target.label, op="remove")


def _write_filtered(
    container: dict[str, Any], op: str, target: _Target, value: Any, quirks: QuirkLog
) -> None:
    attribute, label = target.attribute, target.label
    elements, matches = _matching(container, target, quirks)
    if target.sub is not None:
        new_value = coerce_value(target.sub, value, quirks, label=label)
    else:
        new_value = _coerce_one_element(attribute, value, quirks, label)
    if not matches:
        created = _element_from_filter(target)
        if created is None:
            raise no_target(f"{label} matches no value")
        if new_value is UNASSIGNED:
            return
        quirks.record(Quirk.FILTERED_ADD_CREATES_VALUE, label)
        if target.sub is not None:
            created[target.sub.name] = new_value
        else:
            created = {**new_value, **created}
        elements.append(created)
        matches = [len(elements) - 1]
    else:
        for i in matches:
            if target.sub is not None:
                _set_sub(elements[i], target.sub, new_value, label)
            elif new_value is UNASSIGNED:
                elements[i] = {}
            else:
                replacement = {**elements[i], **new_value} if op == "add" else dict(new_value)
                _guard_element(attribute, elements[i], replacement, label)
                elements[i] = replacement
    _put_back(container, target, elements, matches)


def _coerce_one_element(attribute: Attribute, value: Any, quirks: QuirkLog, label: str) -> Any:
    if not attribute.multi_valued:
        return coerce_value(attribute, value, quirks, label=label)
    coerced = coerce_value(attribute, [value] if isinstance(value, Mapping) else value, quirks, label=label)
    if coerced is UNASSIGNED:
        return UNASSIGNED
    if len(coerced) != 1:
        raise invalid_value(f"{label} selects values to change; give one value object")
    return coerced[0]


def _element_from_filter(target: _Target) -> dict[str, Any] | None:
    """For `emails[type eq "work"].value` with no work email: the element the filter describes.

    Only filters made of `eq` comparisons joined by `and`, one of them on `type`, describe an
    element unambiguously; any other filter that matches nothing is noTarget.
    """
    attribute = target.attribute
    if not attribute.multi_valued or attribute.sub("type") is None or target.value_filter is None:
        return None
    comparisons = _eq_conjuncts(target.value_filter)
    if comparisons is None:
        return None
    element: dict[str, Any] = {}
    for comparison in comparisons:
        path = comparison.path
        sub = attribute.sub(path.attr) if path.urn is None and path.sub_attr is None else None
        if sub is None or sub.mutability == "readOnly":
            return None
        try:
            coerced = coerce_value(sub, comparison.value, QuirkLog(), label=sub.name)
        except ScimError:
            return None
        if coerced is UNASSIGNED:
            return None
        element[sub.name] = coerced
    return element if "type" in element else None


def _eq_conjuncts(expr: Filter) -> list[Comparison] | None:
    if isinstance(expr, Comparison):
        return [expr] if expr.op.lower() == "eq" else None
    if isinstance(expr, And):
        left, right = _eq_conjuncts(expr.left), _eq_conjuncts(expr.right)
        return None if left is None or right is None else left + right
    return None


def _remove(container: dict[str, Any], target: _Target, value: Any, quirks: QuirkLog) -> None:
    attribute, label = target.attribute, target.label
    if target.value_filter is not None:
        elements, matches = _matching(container, target, quirks)
        if not matches:
            return  # removing what isn't there succeeds
        for i in matches:
            if target.sub is not None:
                _set_sub(elements[i], target.sub, UNASSIGNED, label)
            else:
                elements[i] = {}  # removing a whole value is not changing its immutable parts
        _put_back(container, target, elements, [])
        return
    current = container.get(attribute.name)
    if target.sub is not None:
        if current is None:
            return
        if attribute.multi_valued:
            elements = [dict(e) for e in current if isinstance(e, Mapping)]
            for element in elements:
                _set_sub(element, target.sub, UNASSIGNED, label)
            _store_elements(container, attribute, [e for e in elements if e], label)
        elif isinstance(current, dict):
            complex_value = dict(current)
            _set_sub(complex_value, target.sub, UNASSIGNED, label)
            if complex_value:
                container[attribute.name] = complex_value
            else:
                _unassign(container, attribute, attribute.name, op="remove")
        return
    if value is not None and attribute.multi_valued:
        # Entra (legacy) and JumpCloud: remove path=members with the members to remove as value.
        quirks.record(Quirk.MEMBER_REMOVE_VALUE_LIST, label)
        listed = coerce_value(attribute, value, quirks, label=label)
        if listed is UNASSIGNED or not isinstance(current, list):
            return
        kept = [e for e in current if not any(_listed_match(attribute, e, item) for item in listed)]
        if len(kept) != len(current):
            _store_elements(container, attribute, kept, label)
        return
    if current is None and not attribute.required:
        return
    _unassign(container, attribute, label, op="remove")


def _listed_match(attribute: Attribute, element: Any, item: Any) -> bool:
    if isinstance(element, Mapping) and isinstance(item, Mapping) and "value" in item:
        return "value" in element and same_value(attribute.sub("value"), element["value"], item["value"])
    if isinstance(element, Mapping) and isinstance(item, Mapping):
        return all(same_value(attribute.sub(k), element.get(k), v) for k, v in item.items())
    return same_value(attribute, element, item)


def _path_label(path: PatchPath) -> str:
    attr = path.attr
    text = f"{attr.urn}:{attr.attr}" if attr.urn else attr.attr
    if attr.sub_attr:
        text += f".{attr.sub_attr}"
    if path.value_filter is not None:
        text += "[...]"
    if path.sub_attr:
        text += f".{path.sub_attr}"
    return text


# -- Group membership ------------------------------------------------------------------------

_MEMBERS = GROUP_SCHEMA.attr("members")
_MEMBERS_KEYS = ("members", f"{GROUP_SCHEMA.id}:members".lower())


def split_member_operations(
    ops: list[PatchOperation], quirks: QuirkLog
) -> tuple[list[PatchOperation], list[MemberChange]]:
    """Separate Group membership changes (applied in SQL) from attribute operations, keeping order."""
    remaining: list[PatchOperation] = []
    changes: list[MemberChange] = []
    for op in ops:
        if op.path is None:
            key = None
            if isinstance(op.value, Mapping):
                key = next((k for k in op.value if isinstance(k, str) and k.lower() in _MEMBERS_KEYS), None)
            if key is None:
                remaining.append(op)
                continue
            change = _member_change(op.op, None, op.value[key], quirks)
            if change is not None:
                changes.append(change)
            rest = {k: v for k, v in op.value.items() if k != key}
            if rest:
                remaining.append(dataclasses.replace(op, value=rest))
            continue
        attr = op.path.attr
        if attr.attr.lower() != "members" or (
            attr.urn is not None and attr.urn.lower() != GROUP_SCHEMA.id.lower()
        ):
            remaining.append(op)
            continue
        change = _member_change(op.op, op.path, op.value, quirks)
        if change is not None:
            changes.append(change)
    return remaining, changes


def _member_change(op: str, path: PatchPath | None, value: Any, quirks: QuirkLog) -> MemberChange | None:
    assert _MEMBERS is not None
    if path is not None and (path.attr.sub_attr or path.sub_attr):
        raise mutability("Member values are immutable; add or remove members instead")
    where = path.value_filter if path is not None else None
    if op == "remove":
        if where is not None:
            return MemberChange(kind="remove_where", where=where)
        if value is None:
            return MemberChange(kind="remove_all")
        quirks.record(Quirk.MEMBER_REMOVE_VALUE_LIST, "members")
        listed = coerce_value(_MEMBERS, value, quirks, label="members")
        return None if listed is UNASSIGNED else MemberChange(kind="remove", members=_member_refs(listed))
    if where is not None:
        raise mutability("Member values are immutable; add or remove members instead")
    members = coerce_value(_MEMBERS, value, quirks, label="members")
    if op == "add":
        return None if members is UNASSIGNED else MemberChange(kind="add", members=_member_refs(members))
    return MemberChange(kind="replace", members=() if members is UNASSIGNED else _member_refs(members))


def _member_refs(members: list[dict[str, Any]]) -> tuple[dict[str, Any], ...]:
    refs: list[dict[str, Any]] = []
    for member in members:
        ref = {"value": member["value"]}
        if "type" in member:
            ref["type"] = member["type"]
        if ref not in refs:
            refs.append(ref)
    return tuple(refs)
