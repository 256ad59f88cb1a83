"""SCIM resource endpoints (Users, Groups): HTTP in, one service or selector call, SCIM JSON out."""

from __future__ import annotations

import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Model, OuterRef, Q, Subquery
from django.db.models.fields.json import KeyTextTransform, KeyTransform
from django.db.models.functions import Lower
from django.http import HttpRequest, HttpResponse

from directory import groups as group_services
from directory import selectors
from directory import users as user_services
from directory.filtering import compile_group_filter, compile_user_filter
from directory.models import DirectoryGroup, DirectoryUser, UserValue
from directory.serialize import etag, group_document, group_refs, member_documents, user_document
from directory.users import ChangeContext
from scim.errors import ScimError, invalid_value, not_found
from scim.filter import AttrPath, Filter
from scim.http import ListQuery, list_response, parse_json_body, parse_list_query, scim_response
from scim.patch import parse_patch_request
from scim.quirks import QuirkLog
from scim.resources import parse_resource, project
from scim.schema import ENTERPRISE_USER_SCHEMA, GROUP, USER, ResourceType, resolve_path


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
    notes: dict[str, Any] = field(default_factory=dict)

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


class ResourceEndpoint:
    rtype: ResourceType
    model: type[Model]
    expensive_attribute: str  # groups (User) / members (Group): only queried when returned
    # True when a resource that was just created cannot have the expensive attribute yet.
    created_without_expensive = False

    # -- hooks -----------------------------------------------------------------------------
    def compile_filter(self, expr: Filter) -> Q:
        raise NotImplementedError

    def documents(self, rows: list[Any], call: ScimCall, expand: bool) -> list[dict[str, Any]]:
        raise NotImplementedError

    def find(self, resource_id: str) -> Any:
        raise NotImplementedError

    def sort_expression(self, path: AttrPath) -> Any:
        raise NotImplementedError

    def create(self, resource: dict[str, Any], call: ScimCall) -> Any:
        raise NotImplementedError

    def replace(self, resource_id: str, resource: dict[str, Any], if_match: str | None, call: ScimCall) -> Any:
        raise NotImplementedError

    def patch(self, resource_id: str, ops: list[Any], if_match: str | None, call: ScimCall) -> Any:
        raise NotImplementedError

    def delete(self, resource_id: str, if_match: str | None, call: ScimCall) -> None:
        raise NotImplementedError

    patch_returns_body = True

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
            headers["Location"] = doc.get("meta", {}).get("location") or self.documents([row], call, False)[0]["meta"]["location"]
        return scim_response(doc, status=status, headers=headers)

    def get(self, resource_id: str, call: ScimCall) -> HttpResponse:
        row = self.find(resource_id)
        if row is None:
            raise not_found(f"{self.rtype.name} {resource_id} not found")
        if_none_match = call.request.headers.get("If-None-Match")
        if if_none_match and etag(row.version) in [t.strip() for t in if_none_match.split(",")]:
            return scim_response(None, status=304, headers={"ETag": etag(row.version)})
        return self.single_response(row, call)

    def order_by(self, query: ListQuery) -> list[Any]:
        if query.sort_by is None:
            return ["created", "id"]
        expr = self.sort_expression(query.sort_by)
        ordered = expr.desc(nulls_last=True) if query.descending else expr.asc(nulls_last=True)
        return [ordered, "created", "id"]

    def list(self, query: ListQuery, call: ScimCall) -> dict[str, Any]:
        condition = self.compile_filter(query.filter) if query.filter is not None else Q()
        qs = self.model._default_manager.filter(condition)  # type: ignore[attr-defined]
        page = selectors.page(qs, order_by=self.order_by(query), start_index=query.start_index, count=query.count)
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
        if_match = call.request.headers.get("If-Match")
        if method == "GET":
            return self.get(resource_id, call)
        if method == "PUT":
            resource = parse_resource(call.json_body(), self.rtype, call.quirks)
            _check_body_id(call.body, resource_id)
            row = self.replace(resource_id, resource, if_match, call)
            return self.single_response(row, call)
        if method == "PATCH":
            ops = parse_patch_request(call.json_body(), call.quirks)
            row = self.patch(resource_id, ops, if_match, call)
            if self.patch_returns_body or "attributes" in call.params or "excludedattributes" in call.params:
                return self.single_response(row, call)
            return scim_response(None, status=204, headers={"ETag": etag(row.version)})
        if method == "DELETE":
            self.delete(resource_id, if_match, call)
            return scim_response(None, status=204)
        raise method_not_allowed(method, "GET, PUT, PATCH, DELETE")


def method_not_allowed(method: str, allowed: str) -> ScimError:
    error = ScimError(405, f"{method} is not supported here; allowed: {allowed}")
    error.allow = allowed  # type: ignore[attr-defined]
    return error


def _check_body_id(body: Any, resource_id: str) -> None:
    if isinstance(body, dict):
        body_id = next((v for k, v in body.items() if k.lower() == "id"), None)
        if body_id not in (None, "", resource_id):
            raise invalid_value(f"id in the body ({body_id}) does not match the URL ({resource_id})")


def _json_sort(keys: Sequence[str], case_exact: bool) -> Any:
    expr: Any = "resource"
    for key in keys[:-1]:
        expr = KeyTransform(key, expr)
    expr = KeyTextTransform(keys[-1], expr)
    return expr if case_exact else Lower(expr)


class UserEndpoint(ResourceEndpoint):
    rtype = USER
    model = DirectoryUser
    expensive_attribute = "groups"
    created_without_expensive = True  # groups is readOnly: a new user is in no group yet

    def compile_filter(self, expr: Filter) -> Q:
        return compile_user_filter(expr)

    def find(self, resource_id: str) -> Any:
        return selectors.find_user(resource_id)

    def documents(self, rows: list[Any], call: ScimCall, expand: bool) -> list[dict[str, Any]]:
        groups = selectors.groups_of_users([r.id for r in rows]) if expand and rows else {}
        return [user_document(r, call.base_url, group_refs(groups.get(r.id, []), call.base_url)) for r in rows]

    def sort_expression(self, path: AttrPath) -> Any:
        resolved = resolve_path(USER, path)
        attribute, sub = resolved.attribute, resolved.sub
        columns = {"id": "id", "userName": Lower("user_name"), "externalId": "external_id", "active": "active"}
        if resolved.schema.id == ENTERPRISE_USER_SCHEMA.id:
            keys = [ENTERPRISE_USER_SCHEMA.id, attribute.name] + ([sub.name] if sub else [])
            return _json_sort(keys, (sub or attribute).case_exact)
        if attribute.name in columns:
            col = columns[attribute.name]
            return _as_expression(col)
        if attribute.name == "meta":
            return _as_expression("last_modified" if sub and sub.name == "lastModified" else "created")
        if attribute.multi_valued:
            sub_name = sub.name if sub else "value"
            rows = UserValue.objects.filter(user=OuterRef("pk"), attribute=attribute.name.lower()).order_by(
                "-primary", "position"
            )
            column = sub_name if sub_name in {"value", "type", "display"} else "value"
            return Lower(Subquery(rows.values(column)[:1]))
        keys = [attribute.name] + ([sub.name] if sub else [])
        return _json_sort(keys, (sub or attribute).case_exact)

    def create(self, resource: dict[str, Any], call: ScimCall) -> Any:
        return user_services.create_user(resource=resource, ctx=call.ctx)

    def replace(self, resource_id: str, resource: dict[str, Any], if_match: str | None, call: ScimCall) -> Any:
        return user_services.replace_user(user_id=resource_id, resource=resource, if_match=if_match, ctx=call.ctx)

    def patch(self, resource_id: str, ops: list[Any], if_match: str | None, call: ScimCall) -> Any:
        return user_services.patch_user(
            user_id=resource_id, operations=ops, if_match=if_match, ctx=call.ctx, quirks=call.quirks
        )

    def delete(self, resource_id: str, if_match: str | None, call: ScimCall) -> None:
        user_services.delete_user(user_id=resource_id, if_match=if_match, ctx=call.ctx)


class GroupEndpoint(ResourceEndpoint):
    rtype = GROUP
    model = DirectoryGroup
    expensive_attribute = "members"
    # Group PATCH answers 204 (Entra's preference, fine for Okta) unless the client asked for attributes.
    patch_returns_body = False

    def compile_filter(self, expr: Filter) -> Q:
        return compile_group_filter(expr)

    def find(self, resource_id: str) -> Any:
        return selectors.find_group(resource_id)

    def documents(self, rows: list[Any], call: ScimCall, expand: bool) -> list[dict[str, Any]]:
        members: dict[uuid.UUID, list[Any]] = {}
        if expand and rows:
            for m in selectors.member_rows([r.id for r in rows]):
                members.setdefault(m.group_id, []).append(m)
        return [group_document(r, call.base_url, member_documents(members.get(r.id, []), call.base_url)) for r in rows]

    def sort_expression(self, path: AttrPath) -> Any:
        resolved = resolve_path(GROUP, path)
        attribute, sub = resolved.attribute, resolved.sub
        if attribute.name == "displayName":
            return Lower("display_name")
        if attribute.name == "meta":
            return _as_expression("last_modified" if sub and sub.name == "lastModified" else "created")
        if attribute.name in {"id", "externalId"}:
            return _as_expression("id" if attribute.name == "id" else "external_id")
        raise invalid_value(f"cannot sort Groups by {path}")

    def create(self, resource: dict[str, Any], call: ScimCall) -> Any:
        return group_services.create_group(resource=resource, ctx=call.ctx)

    def replace(self, resource_id: str, resource: dict[str, Any], if_match: str | None, call: ScimCall) -> Any:
        return group_services.replace_group(group_id=resource_id, resource=resource, if_match=if_match, ctx=call.ctx)

    def patch(self, resource_id: str, ops: list[Any], if_match: str | None, call: ScimCall) -> Any:
        return group_services.patch_group(
            group_id=resource_id, operations=ops, if_match=if_match, ctx=call.ctx, quirks=call.quirks
        )

    def delete(self, resource_id: str, if_match: str | None, call: ScimCall) -> None:
        group_services.delete_group(group_id=resource_id, if_match=if_match, ctx=call.ctx)


def _as_expression(column: Any) -> Any:
    from django.db.models import F

    return F(column) if isinstance(column, str) else column


ENDPOINTS: dict[str, ResourceEndpoint] = {"users": UserEndpoint(), "groups": GroupEndpoint()}


def search(call: ScimCall, endpoints: Sequence[ResourceEndpoint]) -> HttpResponse:
    """POST /.search and /{Type}/.search with a SearchRequest body (RFC 7644 §3.4.3)."""
    body = call.json_body()
    if not isinstance(body, dict):
        raise ScimError(400, "a SearchRequest must be a JSON object", "invalidSyntax")
    values = {k.lower(): v for k, v in body.items() if k.lower() != "schemas"}
    query = parse_list_query(values)
    if len(endpoints) == 1:
        return scim_response(endpoints[0].list(query, call))
    return scim_response(_search_all(query, call, endpoints))


def _search_all(query: ListQuery, call: ScimCall, endpoints: Sequence[ResourceEndpoint]) -> dict[str, Any]:
    """A root search across Users then Groups; the filter must make sense for each type it is run on."""
    if query.sort_by is not None:
        raise invalid_value("sortBy is not supported on a search across resource types")
    resources: list[dict[str, Any]] = []
    total = 0
    skip = query.start_index - 1
    remaining = query.count
    for endpoint in endpoints:
        try:
            condition = endpoint.compile_filter(query.filter) if query.filter is not None else Q()
        except ScimError as exc:
            if exc.scim_type == "invalidFilter" and "not" in exc.detail:
                continue
            raise
        qs = endpoint.model._default_manager.filter(condition)  # type: ignore[attr-defined]
        count = qs.count()
        total += count
        if remaining > 0 and skip < count:
            rows = list(qs.order_by("created", "id")[skip : skip + remaining])
            expand = _wants(endpoint.expensive_attribute, query.attributes, query.excluded)
            docs = endpoint.documents(rows, call, expand)
            resources += [project(d, endpoint.rtype, attributes=query.attributes, excluded=query.excluded) for d in docs]
            remaining -= len(rows)
            skip = 0
        else:
            skip = max(skip - count, 0)
    return list_response(resources, total=total, start_index=query.start_index)


Handler = Callable[[ScimCall], HttpResponse]
