"""Workspace: Directory. Users, groups and agents with search, filters and keyset paging; a user's
detail with mapped fields, the raw last resource, groups, role and where it came from, timeline."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render

from directory import roles
from directory.errors import InvalidValue, NotFound
from directory.listing import NO_ROLE, UserFilter, UserRow, group_page, owners_of, user_page
from directory.mapping import APP_FIELDS_BY_KEY, app_field
from directory.models import DirectoryGroup, DirectoryUser
from directory.nesting import groups_of_users
from directory.payloads import app_field_values
from directory.selectors import find_user, parse_id
from portal import timeline
from portal.views.base import TenantPortalView
from scim_api.request_log import redact
from tenants.connections import connections_of
from tenants.context import TenantRef

SOURCE_MANUAL = roles.MANUAL_SOURCE
SOURCE_DEFAULT = roles.DEFAULT_SOURCE


def user_filter(query: QueryDict, *, kind: str = DirectoryUser.Kind.HUMAN) -> UserFilter:
    active = {"active": True, "inactive": False}.get(query.get("status", ""))
    return UserFilter(
        q=query.get("q", "")[:200],
        active=active,
        role=query.get("role", "")[:64],
        group_id=parse_id(query.get("group", "")),
        connection_id=query.get("connection", "")[:32],
        kind=kind,
    )


def source_label(source: str | None, group_names: dict[str, str]) -> str:
    """Where a grant comes from, in words: "From Engineering", "Default role", "Set by hand"."""
    if not source:
        return ""
    if source == SOURCE_MANUAL:
        return "Set by hand"
    if source == SOURCE_DEFAULT:
        return "Default role"
    if source.startswith(roles.GROUP_SOURCE_PREFIX):
        return f"From {group_names.get(source[len(roles.GROUP_SOURCE_PREFIX):], 'a group')}"
    return source


def _group_names(sources: list[str | None]) -> dict[str, str]:
    ids = [parse_id(s[len(roles.GROUP_SOURCE_PREFIX) :]) for s in sources if s and s.startswith(roles.GROUP_SOURCE_PREFIX)]
    found = [i for i in ids if i is not None]
    if not found:
        return {}
    return {str(pk): name for pk, name in DirectoryGroup.objects.filter(pk__in=found).values_list("pk", "display_name")}


class DirectoryBase(TenantPortalView):
    def common(self, request: HttpRequest, tab: str) -> dict[str, Any]:
        connections = connections_of(self.tenant)
        return {
            "tenant": self.tenant,
            "nav": "directory",
            "tab": tab,
            "connections": connections,
            "connection_names": {c.id: c.name or c.idp for c in connections},
            "query": request.GET,
        }


class UsersView(DirectoryBase):
    """/portal/directory: people, newest first; search and filters in the query string."""

    kind = DirectoryUser.Kind.HUMAN
    tab = "users"

    def get(self, request: HttpRequest) -> HttpResponse:
        filters = user_filter(request.GET, kind=self.kind)
        page = user_page(filters, cursor=request.GET.get("cursor", ""))
        context = self.common(request, self.tab)
        names = _group_names([r.role_source for r in page.rows])
        rows = [(r, source_label(r.role_source, names), context["connection_names"].get(r.user.source_connection_id, "")) for r in page.rows]
        group = DirectoryGroup.objects.filter(pk=filters.group_id).only("id", "display_name").first() if filters.group_id else None
        owners = owners_of([r.user for r in page.rows]) if self.kind == DirectoryUser.Kind.AGENT else {}
        context.update(
            page=page,
            rows=rows,
            filters=filters,
            group=group,
            owners=owners,
            roles=roles.roles_by_precedence(),
            no_role=NO_ROLE,
            filtered=any((filters.q, filters.active is not None, filters.role, filters.group_id, filters.connection_id)),
            next_query=_with_cursor(request.GET, page.next_cursor),
        )
        return render(request, "portal/directory/users.html", context)


class AgentsView(UsersView):
    """/portal/directory/agents: non-human identities, with their owners and expiry."""

    kind = DirectoryUser.Kind.AGENT
    tab = "agents"


class GroupsView(DirectoryBase):
    """/portal/directory/groups: groups by name with member counts and the role each grants."""

    def get(self, request: HttpRequest) -> HttpResponse:
        page = group_page(request.GET.get("q", "")[:200], cursor=request.GET.get("cursor", ""))
        context = self.common(request, "groups")
        role_names = {r.key: r.name for r in roles.roles_by_precedence()}
        context.update(page=page, role_names=role_names, next_query=_with_cursor(request.GET, page.next_cursor))
        return render(request, "portal/directory/groups.html", context)


class UserDetailView(DirectoryBase):
    """/portal/directory/users/<id>: everything about one user, and a role set by hand."""

    def user(self, user_id: str) -> DirectoryUser:
        user = find_user(user_id)
        if user is None:
            raise Http404("no such user")
        return user

    def _page(self, request: HttpRequest, user: DirectoryUser, status: int = 200, **extra: Any) -> HttpResponse:
        context = self.common(request, "agents" if user.kind == DirectoryUser.Kind.AGENT else "users")
        row = UserRow(user=user, role_key=None, role_name=None, role_source=None)
        grant = roles.RoleGrant.objects.select_related("role").filter(user=user).first()
        if grant is not None:
            row = UserRow(user=user, role_key=grant.role.key, role_name=grant.role.name, role_source=grant.source)
        memberships = groups_of_users([user.pk]).get(user.pk, [])
        values = app_field_values(user)
        fields = [
            (spec.label if (spec := APP_FIELDS_BY_KEY.get(k) or app_field(k)) else k, v, k.startswith("custom."))
            for k, v in values.items()
        ]
        manager = None
        if user.manager_id:
            manager = DirectoryUser.objects.filter(pk=user.manager_id).only("id", "user_name", "display_name").first()
        owner = DirectoryUser.objects.filter(pk=user.owner_id).only("id", "user_name").first() if user.owner_id else None
        context.update(
            user=user,
            row=row,
            name=row.name,
            source=source_label(row.role_source, _group_names([row.role_source])),
            manual=row.role_source == SOURCE_MANUAL,
            groups=sorted(memberships, key=lambda g: (not g["direct"], g["display_name"].lower())),
            fields=fields,
            manager=manager,
            owner=owner,
            resource=redact(user.resource),
            roles=roles.roles_by_precedence(),
            lifecycle=timeline.user_lifecycle(self.tenant, user),
            **extra,
        )
        return render(request, "portal/directory/user.html", context, status=status)

    def get(self, request: HttpRequest, user_id: str) -> HttpResponse:
        return self._page(request, self.user(user_id))

    def post(self, request: HttpRequest, user_id: str) -> HttpResponse:
        user = self.user(user_id)
        wanted = request.POST.get("role", "")
        try:
            change = roles.grant_role_manually(
                user_id=user.pk, role_key=wanted or None, tenant=TenantRef.of(self.tenant), actor=self.actor
            )
        except (InvalidValue, NotFound) as exc:
            message = "A deactivated user cannot hold a role." if "deactivated" in exc.message else "Choose one of the roles listed."
            return self._page(request, user, status=400, role_error=message)
        if wanted:
            messages.success(request, "Role set by hand: group mappings no longer change it.")
        else:
            messages.success(
                request,
                "Back to the mappings: " + (f"the user now holds {change.current}." if change and change.current else "the role follows the user's groups."),
            )
        return redirect("portal:directory-user", user.pk)


def _with_cursor(query: QueryDict, cursor: str) -> str:
    if not cursor:
        return ""
    params = query.copy()
    params["cursor"] = cursor
    return params.urlencode()
