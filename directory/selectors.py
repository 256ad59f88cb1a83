"""Reads of the current tenant's directory. Constant query counts per call, whatever the page size."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from django.db.models import F, OuterRef, Q, QuerySet, Subquery, TextField
from django.db.models.expressions import RawSQL
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Lower

from directory.catalog import (
    GROUP_CATALOG,
    META_COLUMNS,
    USER_CATALOG,
    ResourceCatalog,
    Storage,
    StoredAttribute,
)
from directory.errors import InvalidValue
from directory.filtering import compile_group_filter, compile_user_filter
from directory.models import DirectoryGroup, DirectoryUser, Membership, UserValue
from directory.nesting import groups_of_the_row_sql, groups_of_users
from directory.prepared import PkLookup
from scim.filter import AttrPath, Filter
from scim.schema import Attribute

__all__ = [
    "ListSpec",
    "Page",
    "find_group",
    "find_user",
    "groups_of_users",
    "list_groups",
    "list_users",
    "member_rows",
    "page",
    "parse_id",
]


def parse_id(raw: str) -> uuid.UUID | None:
    try:
        return uuid.UUID(raw)
    except (ValueError, AttributeError, TypeError):
        return None


GROUPS_ANNOTATION = "groups_json"


def with_groups(qs: QuerySet[DirectoryUser]) -> QuerySet[DirectoryUser]:
    """Each user annotated `groups_json`: its direct and indirect groups as JSON text (groups_in_row
    reads it), so rendering `groups` needs no second query."""
    subquery, params = groups_of_the_row_sql()
    return qs.annotate(**{GROUPS_ANNOTATION: RawSQL(subquery, params, output_field=TextField())})


def groups_in_row(user: DirectoryUser) -> list[dict[str, Any]] | None:
    """The groups a with_groups read carried ({"group_id", "direct", "display_name"} each), or None
    when the user was read without them."""
    raw = getattr(user, GROUPS_ANNOTATION, None)
    return None if raw is None else list(orjson.loads(raw))


# The SCIM hot path's key reads, compiled once per process (directory.prepared).
_USER = PkLookup(DirectoryUser, lambda pk: DirectoryUser.objects.filter(pk=pk))
# A locked read starts a change whose response renders the user: it carries the groups too (a user's
# own change never changes its group memberships, so they still hold afterwards).
_USER_FOR_UPDATE = PkLookup(DirectoryUser, lambda pk: with_groups(DirectoryUser.objects.select_for_update().filter(pk=pk)))
_USER_WITH_GROUPS = PkLookup(DirectoryUser, lambda pk: with_groups(DirectoryUser.objects.filter(pk=pk)))
_GROUP = PkLookup(DirectoryGroup, lambda pk: DirectoryGroup.objects.filter(pk=pk))
_GROUP_FOR_UPDATE = PkLookup(DirectoryGroup, lambda pk: DirectoryGroup.objects.select_for_update().filter(pk=pk))


def find_user(user_id: str, *, for_update: bool = False, groups: bool = False) -> DirectoryUser | None:
    """The user by id (None for an unknown or malformed id); locked FOR UPDATE when asked; with its
    groups (with_groups) when asked and on every locked read."""
    pk = parse_id(user_id)
    if pk is None:
        return None
    lookup = _USER_FOR_UPDATE if for_update else _USER_WITH_GROUPS if groups else _USER
    return lookup.get(pk)


def find_group(group_id: str, *, for_update: bool = False) -> DirectoryGroup | None:
    pk = parse_id(group_id)
    if pk is None:
        return None
    return (_GROUP_FOR_UPDATE if for_update else _GROUP).get(pk)


def member_rows(group_ids: Sequence[uuid.UUID]) -> QuerySet[Membership]:
    """Memberships of the groups with just what rendering a member needs (one query)."""
    return (
        Membership.objects.filter(group_id__in=group_ids)
        .select_related("user", "child_group")
        .only(
            "group_id",
            "user_id",
            "child_group_id",
            "user__display_name",
            "user__user_name",
            "child_group__display_name",
        )
        .order_by("id")
    )


def users_for_welcome(user_ids: Iterable[str]) -> dict[str, DirectoryUser]:
    """id -> the user as it is now, with only the columns a welcome mail needs (runs for every new user)."""
    pks = {pk for pk in (parse_id(user_id) for user_id in user_ids) if pk is not None}
    if not pks:
        return {}
    rows = DirectoryUser.objects.filter(pk__in=pks).only(
        "id", "active", "kind", "email", "given_name", "display_name", "user_name"
    )
    return {str(user.pk): user for user in rows}


def unmapped_group(group_id: str) -> DirectoryGroup | None:
    """The group, if it exists and no role mapping names it (its members get no role from it)."""
    pk = parse_id(group_id)
    if pk is None:
        return None
    return DirectoryGroup.objects.filter(pk=pk, role_mappings__isnull=True).only("id", "display_name").first()


# --------------------------------------------------------------------------- lists


@dataclass(frozen=True)
class Page:
    total: int
    rows: list[Any]


def page(qs: QuerySet[Any], *, order_by: Sequence[Any], start_index: int, count: int) -> Page:
    """One page of `qs` (1-based start_index) plus the total, in at most two queries.

    The rows come first: a page that is neither full nor empty past the start is the last one, so
    the total follows from it without a COUNT (a filter by userName, the last page of a sweep).
    """
    if count == 0:
        return Page(total=qs.count(), rows=[])
    offset = start_index - 1
    rows = list(qs.order_by(*order_by)[offset : offset + count])
    if len(rows) < count and (rows or offset == 0):
        return Page(total=offset + len(rows), rows=rows)
    return Page(total=qs.count(), rows=rows)


@dataclass(frozen=True)
class ListSpec:
    """Which resources a list wants: a filter, an order, and a 1-based window."""

    filter: Filter | None = None
    sort_by: AttrPath | None = None
    descending: bool = False
    start_index: int = 1
    count: int = 100


def _json_expression(keys: Sequence[str], case_exact: bool) -> Any:
    expr: Any = "resource"
    for key in keys[:-1]:
        expr = KeyTransform(key, expr)
    text = KeyTextTransform(keys[-1], expr)
    return text if case_exact else Lower(text)


def _value_row_sort(stored: StoredAttribute, sub: Attribute | None) -> Any:
    """A multi-valued attribute sorts by its primary value, else its first (RFC 7644 §3.4.2.3)."""
    column = sub.name if sub is not None and sub.name in {"value", "type", "display"} else "value"
    rows = UserValue.objects.filter(user=OuterRef("pk"), attribute=stored.name.lower()).order_by("-primary", "position")
    return Lower(Subquery(rows.values(column)[:1]))


def sort_expression(catalog: ResourceCatalog, path: AttrPath) -> Any:
    """The SQL expression a list is ordered by for `sortBy`, read from the storage catalog."""
    stored, sub = catalog.resolve(path)
    leaf = sub or stored.attribute
    if stored.storage is Storage.COLUMN:
        assert stored.column is not None
        column = F(stored.column.name)
        return column if leaf.case_exact or stored.column.type != "string" else Lower(stored.column.name)
    if stored.storage is Storage.META:
        return F(META_COLUMNS.get(sub.name if sub else "", "created"))
    if stored.storage is Storage.VALUE_ROWS:
        return _value_row_sort(stored, sub)
    if stored.storage is Storage.DOCUMENT and (sub is not None or stored.attribute.type != "complex"):
        return _json_expression(stored.document_keys(sub), leaf.case_exact)
    raise InvalidValue(f"cannot sort {catalog.rtype.endpoint.strip('/')} by {path}", field="sortBy")


def _ordering(catalog: ResourceCatalog, spec: ListSpec) -> list[Any]:
    if spec.sort_by is None:
        return ["created", "id"]
    expr = sort_expression(catalog, spec.sort_by)
    ordered = expr.desc(nulls_last=True) if spec.descending else expr.asc(nulls_last=True)
    return [ordered, "created", "id"]


def list_users(spec: ListSpec, *, groups: bool = False) -> Page:
    """Users matching the filter, in the requested order (stable: creation, id), one page."""
    condition = compile_user_filter(spec.filter) if spec.filter is not None else Q()
    qs = DirectoryUser.objects.filter(condition)
    if groups:
        qs = with_groups(qs)
    return page(qs, order_by=_ordering(USER_CATALOG, spec), start_index=spec.start_index, count=spec.count)


def list_groups(spec: ListSpec) -> Page:
    """Groups matching the filter, in the requested order (stable: creation, id), one page."""
    condition = compile_group_filter(spec.filter) if spec.filter is not None else Q()
    qs = DirectoryGroup.objects.filter(condition)
    return page(qs, order_by=_ordering(GROUP_CATALOG, spec), start_index=spec.start_index, count=spec.count)


def count_users(filter_: Filter | None) -> int:
    condition = compile_user_filter(filter_) if filter_ is not None else Q()
    return DirectoryUser.objects.filter(condition).count()


def count_groups(filter_: Filter | None) -> int:
    condition = compile_group_filter(filter_) if filter_ is not None else Q()
    return DirectoryGroup.objects.filter(condition).count()
