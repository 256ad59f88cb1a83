"""SCIM filter AST -> Django Q, for users and groups. The one place filters meet SQL.

Every comparison becomes an ORM lookup on a column, a JSONB key of `resource`, or an EXISTS
over `UserValue` / `Membership` rows, so PostgreSQL evaluates the whole filter with its
indexes (lower(userName), externalId, lower(displayName), (attribute, lower(value)), ...).
Comparisons on nullable targets are made two-valued, so `not (title eq "x")` also matches
users without a title, as RFC 7644's "not" requires.
"""

from __future__ import annotations

import operator
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from functools import reduce
from typing import Any

from django.db.models import Case, DecimalField, Exists, F, OuterRef, Q, TextField, Value, When
from django.db.models.expressions import Expression
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Cast, Coalesce, Lower
from django.db.models.lookups import (
    Contains,
    EndsWith,
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    IsNull,
    LessThan,
    LessThanOrEqual,
    StartsWith,
)

from directory.catalog import (
    GROUP_CATALOG,
    META_COLUMNS,
    USER_CATALOG,
    ResourceCatalog,
    Storage,
    StoredAttribute,
)
from directory.models import Membership, UserValue
from directory.normalization import normalize_text
from scim.errors import ScimError, UnknownAttribute, invalid_filter
from scim.filter import And, AttrPath, Comparison, Filter, Not, Or, Present, ValueFilter, as_bool, as_datetime
from scim.schema import GROUP, USER, Attribute, ResourceType

ORDERING_OPS = {"gt", "ge", "lt", "le"}
STRING_OPS = {
    "eq": Exact,
    "co": Contains,
    "sw": StartsWith,
    "ew": EndsWith,
    "gt": GreaterThan,
    "ge": GreaterThanOrEqual,
    "lt": LessThan,
    "le": LessThanOrEqual,
}
NOTHING = Q(pk__in=[])
EVERYTHING = ~Q(pk__in=[])
# Resources render meta.created/lastModified truncated to milliseconds (directory.serialize);
# filters compare against what clients see, so `meta.lastModified eq "<a rendered value>"` matches.
RENDERED_PRECISION = timedelta(milliseconds=1)


@dataclass(frozen=True)
class Target:
    """Where an attribute lives in SQL and how to compare it."""

    expression: Expression | F
    type: str  # string boolean integer decimal dateTime uuid
    case_exact: bool
    nullable: bool
    # UserValue stores an absent type/value/display as "": such a value is unassigned, so it is
    # neither `lt "b"` nor `co ""` (nor anything but `ne`), as for an absent JSON sub-attribute.
    empty_is_unassigned: bool = False
    # Stored values are normalised (userName: NFC, trimmed): compare with the value normalised alike.
    normalized: bool = False


def _json_text(*keys: str) -> Expression:
    """resource -> keys[0] -> ... ->> keys[-1]"""
    expr: Any = "resource"
    for key in keys[:-1]:
        expr = KeyTransform(key, expr)
    return KeyTextTransform(keys[-1], expr)


# --------------------------------------------------------------------------- value coercion


def _coerce(value: Any, target: Target, attr_name: str) -> Any:
    if value is None:
        return None
    if target.type == "boolean":
        boolean = as_bool(value)
        if boolean is None:
            raise invalid_filter(f"{attr_name} is boolean; compare it with true or false")
        return boolean
    if target.type == "dateTime":
        if not isinstance(value, str):
            raise invalid_filter(f"{attr_name} is a dateTime; compare it with a quoted xsd:dateTime")
        # No offset means UTC, the zone every rendered dateTime is in (scim.filter.evaluate agrees).
        parsed = as_datetime(value)
        if parsed is None:
            raise invalid_filter(f"{value!r} is not a valid xsd:dateTime")
        return parsed
    if target.type in {"integer", "decimal"}:
        if isinstance(value, bool) or not isinstance(value, (int, float, str)):
            raise invalid_filter(f"{attr_name} is numeric")
        try:
            return Decimal(str(value))
        except InvalidOperation:
            raise invalid_filter(f"{value!r} is not a number") from None
    if target.type == "uuid":
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _compare(target: Target, op: str, raw_value: Any, attr_name: str) -> Q:
    if op in ORDERING_OPS and target.type == "boolean":
        raise invalid_filter(f"{op} cannot compare the boolean attribute {attr_name}")
    value = _coerce(raw_value, target, attr_name)
    if value is None:  # "eq null" means unassigned, "ne null" means assigned
        if op == "eq":
            return ~_present(target)
        if op == "ne":
            return _present(target)
        raise invalid_filter(f"{op} cannot compare with null")
    if target.type == "uuid":
        as_text = Target(Cast(target.expression, TextField()), "string", target.case_exact, False)
        if op not in {"eq", "ne"}:
            return _compare(as_text, op, value, attr_name)
        parsed = _rendered_uuid(value, target.case_exact)
        if parsed is None:
            # Not how any id renders: eq matches nothing, ne everything.
            return NOTHING if op == "eq" else EVERYTHING
        value = parsed
    lhs: Any = target.expression
    if target.normalized and isinstance(value, str):
        value = normalize_text(value)
    if target.type == "string" and not target.case_exact:
        # PostgreSQL folds both sides, as the case-insensitive unique index does: a filter finds exactly
        # the userName that a create would call a duplicate (Python's lower() differs, e.g. for U+0130).
        lhs = Lower(lhs)
        value = Lower(Value(value, output_field=TextField()))
    if target.type == "boolean" and not isinstance(target.expression, F):
        # JSON booleans are read as text "true"/"false".
        value = "true" if value else "false"
    if target.type in {"integer", "decimal"} and not isinstance(target.expression, F):
        lhs = Cast(lhs, output_field=_decimal_field())
    if target.type == "dateTime" and not isinstance(target.expression, F):
        raise invalid_filter(f"{attr_name} cannot be compared as a dateTime")
    if target.type == "dateTime" and op in ORDERING_OPS | {"eq", "ne"}:
        return _compare_rendered_instant(lhs, op, value)
    assigned = _assigned(target, lhs)
    if op == "ne":
        matched = Q(Exact(lhs, value))
        return ~(matched & assigned) if assigned is not None else ~matched
    if op not in STRING_OPS:
        raise invalid_filter(f"unknown operator {op!r}")
    if op in {"co", "sw", "ew"} and target.type not in {"string", "uuid"}:
        raise invalid_filter(f"{op} needs a string attribute; {attr_name} is {target.type}")
    q = Q(STRING_OPS[op](lhs, value))
    return q & assigned if assigned is not None else q


def _assigned(target: Target, lhs: Any) -> Q | None:
    """The condition for the target to hold a value, when it may not (None: it always does)."""
    q = Q(IsNull(lhs, False)) if target.nullable else None
    if target.empty_is_unassigned:
        not_empty = ~Q(Exact(target.expression, ""))
        q = not_empty if q is None else q & not_empty
    return q


def _rendered_uuid(value: str, case_exact: bool) -> uuid.UUID | None:
    """The UUID a filter value names if it is spelled as ids render (lower-case, hyphenated).

    uuid.UUID also reads "{...}", "urn:uuid:..." and unhyphenated forms, which are different
    strings; `id` is caseExact (RFC 7643 §3.1), so "ABC..." is not the id "abc..." either.
    """
    try:
        parsed = uuid.UUID(value)
    except ValueError:
        return None
    return parsed if str(parsed) == (value if case_exact else value.lower()) else None


def _next_rendered(value: datetime) -> datetime | None:
    """The next rendered instant after `value`; None past the last representable one (year 9999)."""
    try:
        return value + RENDERED_PRECISION
    except OverflowError:
        return None


def _at_or_after(lhs: Any, bound: datetime | None) -> Q:
    return NOTHING if bound is None else Q(GreaterThanOrEqual(lhs, bound))


def _before(lhs: Any, bound: datetime | None) -> Q:
    return EVERYTHING if bound is None else Q(LessThan(lhs, bound))


def _compare_rendered_instant(lhs: Any, op: str, value: datetime) -> Q:
    """Compare a timestamp column as rendered (truncated to RENDERED_PRECISION), as index-friendly ranges.

    Bounds past the year 9999 are open ends, not errors: `lt "9999-12-31T23:59:59.9999Z"` is everything."""
    floor = value.replace(microsecond=value.microsecond - value.microsecond % 1000)
    after_floor = _next_rendered(floor)
    ceil = floor if floor == value else after_floor
    if op in {"eq", "ne"}:
        same = Q(GreaterThanOrEqual(lhs, value)) & _before(lhs, _next_rendered(value))
        matched = same if floor == value else NOTHING
        return matched if op == "eq" else ~matched
    return {
        "gt": lambda: _at_or_after(lhs, after_floor),
        "ge": lambda: _at_or_after(lhs, ceil),
        "lt": lambda: _before(lhs, ceil),
        "le": lambda: _before(lhs, after_floor),
    }[op]()


def _any_value(expr: Filter, build: Callable[[Target, str], Q], exists: Callable[[Callable[[Target, str], Q]], Q]) -> Q:
    """A leaf on a multi-valued attribute: some value matches (RFC 7644 §3.4.2.2).

    `ne` is the negation of `eq`, as in scim.filter.evaluate: `emails.value ne "x"` matches
    resources with no value "x" (including those without emails), not those with some other value.
    Likewise `eq null` matches resources without any assigned value.
    """
    if isinstance(expr, Comparison) and expr.op == "ne" and expr.value is not None:
        return ~exists(lambda t, name: _compare(t, "eq", expr.value, name))
    if isinstance(expr, Comparison) and expr.op == "eq" and expr.value is None:
        return ~exists(lambda t, name: _present(t))
    return exists(build)


def _decimal_field() -> DecimalField:
    return DecimalField(max_digits=40, decimal_places=10)


def _present(target: Target) -> Q:
    q = Q(IsNull(target.expression, False))
    if target.type in {"string"}:
        q &= ~Q(Exact(target.expression, ""))
    return q


# --------------------------------------------------------------------------- stored attributes


def _stored_target(stored: StoredAttribute, sub: Attribute | None) -> Target | None:
    """Column or document target of a singular attribute (or of its sub-attribute), from the catalog;
    None for attributes stored as value rows or memberships (they compile to EXISTS)."""
    attribute = stored.attribute
    leaf = sub or attribute
    name = attribute.name
    if stored.storage is Storage.COLUMN:
        assert stored.column is not None
        case_exact = True if stored.column.type == "uuid" else leaf.case_exact
        return Target(
            F(stored.column.name), stored.column.type, case_exact, stored.column.nullable, normalized=stored.column.normalized
        )
    if stored.storage is Storage.META:
        return _meta_target(sub)
    if stored.storage in {Storage.VALUE_ROWS, Storage.MEMBERSHIP}:
        return None
    if stored.storage is Storage.NOT_STORED or attribute.returned == "never":
        raise invalid_filter(f"{name} cannot be filtered")
    if attribute.type == "complex" and sub is None:
        example = attribute.sub_attributes[0].name
        raise invalid_filter(f"{name} is complex: filter on one of its sub-attributes, e.g. {name}.{example}")
    return Target(_json_text(*stored.document_keys(sub)), leaf.type, leaf.case_exact, True)


def _meta_target(sub: Attribute | None) -> Target:
    if sub is None:
        raise invalid_filter("meta is complex: filter on meta.created or meta.lastModified")
    if sub.name in META_COLUMNS:
        return Target(F(META_COLUMNS[sub.name]), "dateTime", True, False)
    if sub.name == "resourceType":
        return Target(Value("", output_field=TextField()), "resourceType", True, False)
    raise invalid_filter(f"meta.{sub.name} cannot be filtered")


def _value_row_target(attribute: Attribute, sub: Attribute | None) -> Target:
    """Target of a sub-attribute of a multi-valued attribute, as a column of UserValue."""
    sub_name = sub.name if sub else "value"
    leaf = sub or attribute.sub("value") or attribute
    if sub_name == "type":
        return Target(F("type"), "string", False, False, empty_is_unassigned=True)
    if sub_name == "primary":
        return Target(F("primary"), "boolean", True, False)
    if sub_name == "value":
        value_type = "string" if leaf.type not in {"boolean"} else leaf.type
        return Target(F("value"), value_type, leaf.case_exact, False, empty_is_unassigned=value_type == "string")
    if sub_name == "display":
        return Target(F("display"), "string", False, False, empty_is_unassigned=True)
    return Target(KeyTextTransform(sub_name, "extra"), leaf.type, leaf.case_exact, True)


def _values_exists(attribute: Attribute, condition: Q) -> Q:
    rows = UserValue.objects.filter(user=OuterRef("pk"), attribute=attribute.name.lower()).filter(condition)
    return Q(Exists(rows))


class _Compiler:
    def __init__(self, rtype: ResourceType) -> None:
        self.rtype = rtype

    def compile(self, expr: Filter) -> Q:
        if isinstance(expr, And):
            return self.compile(expr.left) & self.compile(expr.right)
        if isinstance(expr, Or):
            return self.compile(expr.left) | self.compile(expr.right)
        if isinstance(expr, Not):
            return ~self.compile(expr.expr)
        if isinstance(expr, Comparison):
            return self.leaf(expr.path, lambda t, name: _compare(t, expr.op, expr.value, name), expr)
        if isinstance(expr, Present):
            return self.leaf(expr.path, lambda t, name: _present(t), expr)
        if isinstance(expr, ValueFilter):
            return self.value_filter(expr)
        raise invalid_filter("unsupported filter expression")

    def leaf(self, path: AttrPath, build: Callable[[Target, str], Q], expr: Filter) -> Q:
        raise NotImplementedError

    def value_filter(self, expr: ValueFilter) -> Q:
        raise NotImplementedError


def _schemas_filter(rtype: ResourceType, expr: Filter) -> Q | None:
    """`schemas eq "<urn>"`: which resources carry a schema (the core one: all of them)."""
    if not isinstance(expr, Comparison) or expr.path.attr.lower() != "schemas" or expr.path.urn:
        return None
    if expr.op != "eq" or not isinstance(expr.value, str):
        raise invalid_filter("schemas can only be compared with eq and a schema URN")
    urn = expr.value.lower()
    if urn == rtype.schema.id.lower():
        return EVERYTHING
    for ext, _required in rtype.extensions:
        if urn == ext.id.lower():
            return Q(resource__has_key=ext.id)
    return NOTHING


class UserFilterCompiler(_Compiler):
    def __init__(self) -> None:
        super().__init__(USER)

    def compile(self, expr: Filter) -> Q:
        special = _schemas_filter(self.rtype, expr)
        return special if special is not None else super().compile(expr)

    def leaf(self, path: AttrPath, build: Callable[[Target, str], Q], expr: Filter) -> Q:
        present_complex = _complex_present(USER_CATALOG, path) if isinstance(expr, Present) else None
        if present_complex is not None:
            return present_complex
        stored, sub = USER_CATALOG.resolve(path)
        name = stored.name
        target = _stored_target(stored, sub)
        if target is not None:
            if target.type == "resourceType":
                return _resource_type_match(expr, "User")
            return build(target, name)
        if stored.storage is Storage.MEMBERSHIP:
            return _any_value(expr, build, lambda b: _groups_exists(sub, b))
        row_target = _value_row_target(stored.attribute, sub)
        if isinstance(expr, Present) and sub is None:
            return _values_exists(stored.attribute, Q())
        return _any_value(expr, build, lambda b: _values_exists(stored.attribute, b(row_target, name)))

    def value_filter(self, expr: ValueFilter) -> Q:
        stored, _sub = USER_CATALOG.resolve(expr.path)
        attribute = stored.attribute
        if stored.storage is Storage.MEMBERSHIP:
            inner = _GroupsElementCompiler(attribute).compile(expr.filter)
            return Q(Exists(Membership.objects.filter(user=OuterRef("pk")).filter(inner)))
        if stored.storage is not Storage.VALUE_ROWS:
            # A value filter on a singular complex attribute (manager[value eq "x"]): same as its sub-filter.
            return _SingularComplexCompiler(self.rtype, stored).compile(expr.filter)
        return _values_exists(attribute, _ElementCompiler(attribute).compile(expr.filter))


def _complex_present(catalog: ResourceCatalog, path: AttrPath) -> Q | None:
    """`name pr`, `manager pr`: a singular complex attribute with some present sub-attribute."""
    stored, sub = catalog.resolve(path)
    attribute = stored.attribute
    if sub is not None or attribute.type != "complex" or stored.storage is not Storage.DOCUMENT:
        return None
    targets = [_stored_target(stored, s) for s in attribute.sub_attributes]
    return reduce(operator.or_, (_present(t) for t in targets if t is not None))


def _resource_type_match(expr: Filter, resource_type: str) -> Q:
    if isinstance(expr, Present):
        return EVERYTHING
    assert isinstance(expr, Comparison)
    value = str(expr.value or "").lower()
    matches = {
        "eq": value == resource_type.lower(),
        "ne": value != resource_type.lower(),
        "co": value in resource_type.lower(),
        "sw": resource_type.lower().startswith(value),
        "ew": resource_type.lower().endswith(value),
    }.get(expr.op)
    if matches is None:
        raise invalid_filter(f"meta.resourceType cannot be compared with {expr.op}")
    return EVERYTHING if matches else NOTHING


class _ElementCompiler(_Compiler):
    """Filters inside emails[...]: paths are sub-attributes of one UserValue row."""

    def __init__(self, attribute: Attribute) -> None:
        super().__init__(USER)
        self.attribute = attribute

    def leaf(self, path: AttrPath, build: Callable[[Target, str], Q], expr: Filter) -> Q:
        sub = self.attribute.sub(path.attr)
        if sub is None or path.sub_attr or path.urn:
            raise invalid_filter(f"{self.attribute.name} has no sub-attribute {path}")
        return build(_value_row_target(self.attribute, sub), f"{self.attribute.name}.{sub.name}")

    def value_filter(self, expr: ValueFilter) -> Q:
        raise invalid_filter("value filters cannot be nested")


class _SingularComplexCompiler(_Compiler):
    def __init__(self, rtype: ResourceType, stored: StoredAttribute) -> None:
        super().__init__(rtype)
        self.stored = stored
        self.attribute = stored.attribute

    def leaf(self, path: AttrPath, build: Callable[[Target, str], Q], expr: Filter) -> Q:
        sub = self.attribute.sub(path.attr)
        if sub is None or path.sub_attr or path.urn:
            raise invalid_filter(f"{self.attribute.name} has no sub-attribute {path}")
        target = _stored_target(self.stored, sub)
        assert target is not None
        return build(target, f"{self.attribute.name}.{sub.name}")

    def value_filter(self, expr: ValueFilter) -> Q:
        raise invalid_filter("value filters cannot be nested")


def _membership_value_target() -> Target:
    return Target(Coalesce(Cast("group_id", TextField()), Value("")), "string", True, False)


def _groups_exists(sub: Attribute | None, build: Callable[[Target, str], Q]) -> Q:
    sub_name = sub.name if sub else "value"
    rows = Membership.objects.filter(user=OuterRef("pk"))
    if sub_name == "value":
        return Q(Exists(rows.filter(build(Target(F("group_id"), "uuid", False, False), "groups.value"))))
    if sub_name == "display":
        return Q(Exists(rows.filter(build(Target(F("group__display_name"), "string", False, False), "groups.display"))))
    if sub_name == "type":
        return Q(Exists(rows.filter(build(Target(Value("direct", output_field=TextField()), "string", False, False), "groups.type"))))
    raise invalid_filter(f"groups.{sub_name} cannot be filtered")


class _GroupsElementCompiler(_Compiler):
    def __init__(self, attribute: Attribute) -> None:
        super().__init__(USER)
        self.attribute = attribute

    def leaf(self, path: AttrPath, build: Callable[[Target, str], Q], expr: Filter) -> Q:
        sub = self.attribute.sub(path.attr)
        if sub is None:
            raise invalid_filter(f"groups has no sub-attribute {path}")
        if sub.name == "value":
            return build(Target(F("group_id"), "uuid", False, False), "groups.value")
        if sub.name == "display":
            return build(Target(F("group__display_name"), "string", False, False), "groups.display")
        raise invalid_filter(f"groups.{sub.name} cannot be filtered")

    def value_filter(self, expr: ValueFilter) -> Q:
        raise invalid_filter("value filters cannot be nested")


# --------------------------------------------------------------------------- groups


def _member_target(sub_name: str) -> Target:
    if sub_name == "value":
        return Target(Coalesce(F("user_id"), F("child_group_id")), "uuid", False, False)
    if sub_name == "display":
        return Target(
            Coalesce(F("user__display_name"), F("child_group__display_name"), output_field=TextField()),
            "string",
            False,
            True,
        )
    if sub_name == "type":
        return Target(
            Coalesce(
                _case_type(),
                Value("User"),
                output_field=TextField(),
            ),
            "string",
            False,
            False,
        )
    raise invalid_filter(f"members.{sub_name} cannot be filtered")


def _case_type() -> Expression:
    return Case(When(user__isnull=False, then=Value("User")), default=Value("Group"), output_field=TextField())


class MemberFilterCompiler(_Compiler):
    """Filters on Membership rows, paths relative to one member (value, type, display)."""

    def __init__(self) -> None:
        super().__init__(GROUP)

    def leaf(self, path: AttrPath, build: Callable[[Target, str], Q], expr: Filter) -> Q:
        members = GROUP.schema.attr("members")
        assert members is not None
        sub = members.sub(path.attr)
        if sub is None or path.sub_attr or path.urn:
            raise invalid_filter(f"members has no sub-attribute {path}")
        return build(_member_target(sub.name), f"members.{sub.name}")

    def value_filter(self, expr: ValueFilter) -> Q:
        raise invalid_filter("value filters cannot be nested")


class GroupFilterCompiler(_Compiler):
    def __init__(self) -> None:
        super().__init__(GROUP)

    def compile(self, expr: Filter) -> Q:
        special = _schemas_filter(self.rtype, expr)
        return special if special is not None else super().compile(expr)

    def leaf(self, path: AttrPath, build: Callable[[Target, str], Q], expr: Filter) -> Q:
        stored, sub = GROUP_CATALOG.resolve(path)
        name = stored.name
        if stored.storage is Storage.MEMBERSHIP:
            rows = Membership.objects.filter(group=OuterRef("pk"))
            if isinstance(expr, Present) and sub is None:
                return Q(Exists(rows))
            member = _member_target(sub.name if sub else "value")
            return _any_value(expr, build, lambda b: Q(Exists(rows.filter(b(member, name)))))
        if stored.storage is Storage.VALUE_ROWS:
            raise invalid_filter(f"{name} cannot be filtered")
        target = _stored_target(stored, sub)
        assert target is not None
        if target.type == "resourceType":
            return _resource_type_match(expr, "Group")
        return build(target, name)

    def value_filter(self, expr: ValueFilter) -> Q:
        stored, _sub = GROUP_CATALOG.resolve(expr.path)
        if stored.storage is not Storage.MEMBERSHIP:
            raise invalid_filter(f"{stored.name} is not multi-valued")
        inner = MemberFilterCompiler().compile(expr.filter)
        return Q(Exists(Membership.objects.filter(group=OuterRef("pk")).filter(inner)))


def _translate_errors(fn: Callable[[], Q]) -> Q:
    """Path errors inside a filter are filter errors (invalidFilter), keeping UnknownAttribute's type."""
    try:
        return fn()
    except UnknownAttribute as exc:
        raise UnknownAttribute(exc.detail, scim_type="invalidFilter") from None
    except ScimError as exc:
        if exc.scim_type == "invalidPath":
            raise invalid_filter(exc.detail) from None
        raise


def compile_user_filter(expr: Filter) -> Q:
    return _translate_errors(lambda: UserFilterCompiler().compile(expr))


def compile_group_filter(expr: Filter) -> Q:
    return _translate_errors(lambda: GroupFilterCompiler().compile(expr))


def compile_member_filter(expr: Filter) -> Q:
    return _translate_errors(lambda: MemberFilterCompiler().compile(expr))
