"""SCIM resource endpoints (Users, Groups): HTTP in, one directory service or selector call, SCIM JSON out.

The edge turns SCIM request semantics into plain changes the directory applies: a PUT becomes "merge
this resource into the current document" (RFC 7644 §3.5.1), a PATCH becomes "apply these operations
to the current document" (§3.5.2) plus, for groups, membership changes that run in SQL.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest, HttpResponse

from directory import groups as group_services
from directory import selectors
from directory import users as user_services
from directory.change import ChangeContext, ExpectedVersion
from directory.models import DirectoryGroup, DirectoryUser
from directory.nesting import groups_of_users
from scim.errors import ScimError, UnknownAttribute, invalid_syntax, invalid_value, not_found
from scim.filter import AttrPath, Filter
from scim.patch import MemberChange, PatchOperation, apply_patch, parse_patch_request, split_member_operations
from scim.quirks import QuirkLog
from scim.resources import merge_for_replace, parse_resource, project
from scim.schema import GROUP, USER, ResourceType
from scim_api.http import (
    ListQuery,
    check_patch_size,
    list_response,
    parse_json_body,
    parse_list_query,
    scim_response,
)
from scim_api.representation import (
    etag,
    expected_version,
    group_document,
    group_refs,
    matches_if_none_match,
    member_documents,
    user_document,
)

Document = dict[str, Any]


@dataclass
class ScimCall:
    """Everything one SCIM request needs, built once by the view."""

    request: HttpRequest
    base_url: str
    ctx: ChangeContext
    quirks: QuirkLog
    params: dict[str, str]
    idp: Any = None  # the connection's IdP profile
    connection: Any = None  # tenants.models.ScimConnection
    body: Any = None
    resource_type: str = ""
    resource_id: str = ""

    def json_body(self) -> Any:
        if self.body is None:
            self.body = parse_json_body(self.request)
            if self.idp is not None:
                self.body = self.idp.normalise_request(self.request.method or "", self.request.path, self.body, self.quirks)
        return self.body


def _wants(name: str, query_attrs: Sequence[AttrPath] | None, excluded: Sequence[AttrPath] | None) -> bool:
    """Whether a returned=default attribute must be rendered (so expensive ones can be skipped)."""
    lowered = name.lower()
    if query_attrs:
        return any(p.attr.lower() == lowered for p in query_attrs)
    if excluded:
        return not any(p.attr.lower() == lowered and not p.sub_attr for p in excluded)
    return True


def list_spec(query: ListQuery, *, filter_: Filter | None = None) -> selectors.ListSpec:
    return selectors.ListSpec(
        filter=query.filter if filter_ is None else filter_,
        sort_by=query.sort_by,
        descending=query.descending,
        start_index=query.start_index,
        count=query.count,
    )


def method_not_allowed(method: str, allowed: str) -> ScimError:
    error = ScimError(405, f"{method} is not supported here; allowed: {allowed}")
    error.allow = allowed  # type: ignore[attr-defined]
    return error


def _check_body_id(body: Any, resource_id: str) -> None:
    if isinstance(body, dict):
        body_id = next((v for k, v in body.items() if k.lower() == "id"), None)
        if body_id not in (None, "", resource_id):
            raise invalid_value(f"id in the body ({body_id}) does not match the URL ({resource_id})")


class ResourceEndpoint:
    rtype: ResourceType
    expensive_attribute: str  # groups (User) / members (Group): only queried when returned
    # True when a resource that was just created cannot have the expensive attribute yet.
    created_without_expensive = False
    patch_returns_body = True

    # -- hooks -----------------------------------------------------------------------------
    def documents(self, rows: list[Any], call: ScimCall, expand: bool) -> list[dict[str, Any]]:
        raise NotImplementedError

    def find(self, resource_id: str) -> Any:
        raise NotImplementedError

    def select(self, spec: selectors.ListSpec) -> selectors.Page:
        raise NotImplementedError

    def count(self, filter_: Filter | None) -> int:
        raise NotImplementedError

    def create(self, resource: Document, call: ScimCall) -> Any:
        raise NotImplementedError

    def replace(self, resource_id: str, resource: Document, expected: ExpectedVersion, call: ScimCall) -> Any:
        raise NotImplementedError

    def patch(self, resource_id: str, ops: list[PatchOperation], expected: ExpectedVersion, call: ScimCall) -> Any:
        raise NotImplementedError

    def delete(self, resource_id: str, expected: ExpectedVersion, call: ScimCall) -> None:
        raise NotImplementedError

    # -- shared behaviour ------------------------------------------------------------------
    def render(self, row: Any, call: ScimCall, query_attrs=None, excluded=None, created=False) -> dict[str, Any]:  # type: ignore[no-untyped-def]
        expand = _wants(self.expensive_attribute, query_attrs, excluded) and not (
            created and self.created_without_expensive
        )
        doc = self.documents([row], call, expand)[0]
        return project(doc, self.rtype, attributes=query_attrs, excluded=excluded)

    def projection_params(self, call: ScimCall) -> tuple[list[AttrPath] | None, list[AttrPath] | None]:
        query = parse_list_query(
            {k: v for k, v in call.params.items() if k in {"attributes", "excludedattributes"}}
        )
        return query.attributes, query.excluded

    def single_response(self, row: Any, call: ScimCall, status: int = 200) -> HttpResponse:
        attrs, excluded = self.projection_params(call)
        doc = self.render(row, call, attrs, excluded, created=status == 201)
        headers = {"ETag": etag(row.version)}
        if status == 201:
            headers["Location"] = f"{call.base_url}{self.rtype.endpoint}/{row.id}"
        return scim_response(doc, status=status, headers=headers)

    def get(self, resource_id: str, call: ScimCall) -> HttpResponse:
        row = self.find(resource_id)
        if row is None:
            raise not_found(f"{self.rtype.name} {resource_id} not found")
        if matches_if_none_match(call.request.headers.get("If-None-Match"), row.version):
            return scim_response(None, status=304, headers={"ETag": etag(row.version)})
        return self.single_response(row, call)

    def list(self, query: ListQuery, call: ScimCall) -> dict[str, Any]:
        page = self.select(list_spec(query))
        expand = _wants(self.expensive_attribute, query.attributes, query.excluded)
        docs = self.documents(page.rows, call, expand)
        resources = [project(d, self.rtype, attributes=query.attributes, excluded=query.excluded) for d in docs]
        return list_response(resources, total=page.total, start_index=query.start_index)

    def dispatch(self, call: ScimCall, method: str, resource_id: str | None) -> HttpResponse:
        call.resource_type = self.rtype.name
        if resource_id is None:
            if method == "GET":
                return scim_response(self.list(parse_list_query(call.params), call))
            if method == "POST":
                resource = parse_resource(call.json_body(), self.rtype, call.quirks)
                row = self.create(resource, call)
                call.resource_id = str(row.id)
                return self.single_response(row, call, status=201)
            raise method_not_allowed(method, "GET, POST")
        call.resource_id = resource_id
        expected = expected_version(call.request.headers.get("If-Match"))
        if method == "GET":
            return self.get(resource_id, call)
        if method == "PUT":
            resource = parse_resource(call.json_body(), self.rtype, call.quirks)
            _check_body_id(call.body, resource_id)
            row = self.replace(resource_id, resource, expected, call)
            return self.single_response(row, call)
        if method == "PATCH":
            ops = parse_patch_request(call.json_body(), call.quirks)
            check_patch_size(ops)
            row = self.patch(resource_id, ops, expected, call)
            if self.patch_returns_body or "attributes" in call.params or "excludedattributes" in call.params:
                return self.single_response(row, call)
            return scim_response(None, status=204, headers={"ETag": etag(row.version)})
        if method == "DELETE":
            self.delete(resource_id, expected, call)
            return scim_response(None, status=204)
        raise method_not_allowed(method, "GET, PUT, PATCH, DELETE")


def _replace_user_document(resource: Document) -> Callable[[Document], Document]:
    """PUT: the new resource merged into the current one (readOnly and immutable values kept)."""
    incoming = user_services.stored_document(resource)

    def change(current: Document) -> Document:
        merged = merge_for_replace(current, incoming, USER)
        # A PUT that omits `active` must not (re)activate or deactivate anyone (Okta AIW, OneLogin).
        merged.setdefault("active", current.get("active", True))
        return merged

    return change


class UserEndpoint(ResourceEndpoint):
    rtype = USER
    expensive_attribute = "groups"
    created_without_expensive = True  # groups is readOnly: a new user is in no group yet

    def find(self, resource_id: str) -> DirectoryUser | None:
        return selectors.find_user(resource_id, groups=True)

    def select(self, spec: selectors.ListSpec) -> selectors.Page:
        return selectors.list_users(spec, groups=True)

    def count(self, filter_: Filter | None) -> int:
        return selectors.count_users(filter_)

    def documents(self, rows: list[Any], call: ScimCall, expand: bool) -> list[dict[str, Any]]:
        if not expand:
            return [user_document(r, call.base_url, []) for r in rows]
        # Rows read with their groups (selectors.with_groups) need no walk; others get one for all.
        carried = {r.id: selectors.groups_in_row(r) for r in rows}
        missing = [user_id for user_id, groups in carried.items() if groups is None]
        walked = groups_of_users(missing) if missing else {}
        return [
            user_document(r, call.base_url, group_refs(carried[r.id] or walked.get(r.id, []), call.base_url)) for r in rows
        ]

    def create(self, resource: Document, call: ScimCall) -> DirectoryUser:
        return user_services.create_user(resource=resource, ctx=call.ctx)

    def replace(self, resource_id: str, resource: Document, expected: ExpectedVersion, call: ScimCall) -> DirectoryUser:
        return user_services.update_user(
            user_id=resource_id, change=_replace_user_document(resource), ctx=call.ctx, expected_version=expected
        )

    def patch(self, resource_id: str, ops: list[PatchOperation], expected: ExpectedVersion, call: ScimCall) -> DirectoryUser:
        return user_services.update_user(
            user_id=resource_id,
            change=lambda current: apply_patch(current, ops, USER, call.quirks),
            ctx=call.ctx,
            expected_version=expected,
        )

    def delete(self, resource_id: str, expected: ExpectedVersion, call: ScimCall) -> None:
        user_services.delete_user(user_id=resource_id, ctx=call.ctx, expected_version=expected)


class GroupEndpoint(ResourceEndpoint):
    rtype = GROUP
    expensive_attribute = "members"
    # Group PATCH answers 204 (Entra's preference, fine for Okta) unless the client asked for attributes.
    patch_returns_body = False

    def find(self, resource_id: str) -> DirectoryGroup | None:
        return selectors.find_group(resource_id)

    def select(self, spec: selectors.ListSpec) -> selectors.Page:
        return selectors.list_groups(spec)

    def count(self, filter_: Filter | None) -> int:
        return selectors.count_groups(filter_)

    def documents(self, rows: list[Any], call: ScimCall, expand: bool) -> list[dict[str, Any]]:
        members: dict[uuid.UUID, list[Any]] = {}
        if expand and rows:
            for m in selectors.member_rows([r.id for r in rows]):
                members.setdefault(m.group_id, []).append(m)
        return [group_document(r, call.base_url, member_documents(members.get(r.id, []), call.base_url)) for r in rows]

    def create(self, resource: Document, call: ScimCall) -> DirectoryGroup:
        return group_services.create_group(resource=resource, ctx=call.ctx)

    def replace(self, resource_id: str, resource: Document, expected: ExpectedVersion, call: ScimCall) -> DirectoryGroup:
        incoming = group_services.stored_document(resource)
        members = tuple(resource.get("members") or ())
        return group_services.update_group(
            group_id=resource_id,
            ctx=call.ctx,
            change=lambda current: merge_for_replace(current, incoming, GROUP),
            member_changes=[MemberChange(kind="replace", members=members)],
            expected_version=expected,
        )

    def patch(self, resource_id: str, ops: list[PatchOperation], expected: ExpectedVersion, call: ScimCall) -> DirectoryGroup:
        attribute_ops, member_changes = split_member_operations(ops, call.quirks)
        change = (lambda current: apply_patch(current, attribute_ops, GROUP, call.quirks)) if attribute_ops else None
        return group_services.update_group(
            group_id=resource_id, ctx=call.ctx, change=change, member_changes=member_changes, expected_version=expected
        )

    def delete(self, resource_id: str, expected: ExpectedVersion, call: ScimCall) -> None:
        group_services.delete_group(group_id=resource_id, ctx=call.ctx, expected_version=expected)


ENDPOINTS: dict[str, ResourceEndpoint] = {"users": UserEndpoint(), "groups": GroupEndpoint()}


def search(call: ScimCall, endpoints: Sequence[ResourceEndpoint]) -> HttpResponse:
    """POST /.search and /{Type}/.search with a SearchRequest body (RFC 7644 §3.4.3)."""
    body = call.json_body()
    if not isinstance(body, dict):
        raise invalid_syntax("a SearchRequest must be a JSON object")
    values = {k.lower(): v for k, v in body.items() if k.lower() != "schemas"}
    query = parse_list_query(values)
    if len(endpoints) == 1:
        return scim_response(endpoints[0].list(query, call))
    return scim_response(_search_all(query, call, endpoints))


def _search_all(query: ListQuery, call: ScimCall, endpoints: Sequence[ResourceEndpoint]) -> dict[str, Any]:
    """A root search across Users then Groups. A resource type on which the filter names an attribute
    it does not have contributes nothing (RFC 7644 §3.4.3); a filter no type understands is invalid."""
    if query.sort_by is not None:
        raise invalid_value("sortBy is not supported on a search across resource types")
    counted: list[tuple[ResourceEndpoint, int]] = []
    unknown: list[UnknownAttribute] = []
    for endpoint in endpoints:
        try:
            counted.append((endpoint, endpoint.count(query.filter)))
        except UnknownAttribute as exc:
            unknown.append(exc)
    if not counted and unknown:
        raise unknown[0]
    resources: list[dict[str, Any]] = []
    total = sum(count for _, count in counted)
    skip = query.start_index - 1
    remaining = query.count
    for endpoint, count in counted:
        if remaining > 0 and skip < count:
            spec = selectors.ListSpec(filter=query.filter, start_index=skip + 1, count=remaining)
            rows = endpoint.select(spec).rows
            expand = _wants(endpoint.expensive_attribute, query.attributes, query.excluded)
            docs = endpoint.documents(rows, call, expand)
            resources += [project(d, endpoint.rtype, attributes=query.attributes, excluded=query.excluded) for d in docs]
            remaining -= len(rows)
            skip = 0
        else:
            skip = max(skip - count, 0)
    return list_response(resources, total=total, start_index=query.start_index)
