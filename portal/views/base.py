"""The two view bases: TenantPortalView (customer admins) and OperatorView (operator console).

They do what no view may do itself: require a signed-in account of the right audience, require
a verified second factor (TOTP or a recovery code), and resolve the scope. For the portal the
tenant comes from the signed-in admin, never from the URL, and its schema is active for the
whole request, template rendering included, then restored. For the console each HTTP method
maps to a permission that the operator's role must hold.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any, ClassVar, cast

from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, HttpResponseBase, HttpResponseNotAllowed
from django.shortcuts import redirect
from django.urls import reverse
from django.views import View
from django_htmx.http import HttpResponseClientRedirect
from django_tenants.utils import schema_context

from outbox.append import Actor
from tenants.accounts import Audience, has_confirmed_totp
from tenants.audit import AuditActor
from tenants.models import Operator, SupportSession, Tenant, TenantAdmin
from tenants.support_access import active_support_session

LOGIN_URLS = {Audience.PORTAL: "portal:login", Audience.CONSOLE: "console:login"}
VERIFY_URLS = {Audience.PORTAL: "portal:verify", Audience.CONSOLE: "console:verify"}
ENROL_URLS = {Audience.PORTAL: "portal:enrol", Audience.CONSOLE: "console:enrol"}
HOME_URLS = {Audience.PORTAL: "portal:home", Audience.CONSOLE: "console:home"}
# The tenant whose portal an operator opened from the console's Support access page (read-only).
SUPPORT_TENANT_SESSION_KEY = "support_tenant_id"
READ_ONLY_METHODS = frozenset({"GET", "HEAD"})


def _redirect(request: HttpRequest, url: str) -> HttpResponse:
    """A redirect that also works for htmx requests (which would otherwise swap the target page in)."""
    if getattr(request, "htmx", False):
        return HttpResponseClientRedirect(url)
    return redirect(url)


def signed_in_user(request: HttpRequest) -> User:
    """request.user once a gate let the request through (authenticated, never anonymous)."""
    return cast(User, request.user)


def is_verified(user: Any) -> bool:
    """Whether django-otp's middleware verified this session's second factor."""
    return bool(getattr(user, "is_verified", lambda: False)())


def second_factor_gate(request: HttpRequest, audience: Audience) -> HttpResponse | None:
    """None when the request may go on; else where to send it (sign in, verify, enrol)."""
    user = request.user
    if not user.is_authenticated:
        if getattr(request, "htmx", False):
            return HttpResponseClientRedirect(reverse(LOGIN_URLS[audience]))
        return redirect_to_login(request.get_full_path(), reverse(LOGIN_URLS[audience]))
    if not is_verified(user):
        target = VERIFY_URLS[audience] if has_confirmed_totp(signed_in_user(request)) else ENROL_URLS[audience]
        return _redirect(request, reverse(target))
    return None


class AudienceView(View):
    audience: ClassVar[Audience]
    http_method_names = ["get", "post", "head"]

    def audit_actor(self) -> AuditActor:
        """Who is acting, for the audit log: the signed-in admin or operator, from where."""
        user = signed_in_user(self.request)
        operator = getattr(self, "operator", None)
        return AuditActor(
            kind="operator" if self.audience is Audience.CONSOLE else "tenant_admin",
            id=str(user.pk),
            label=user.email or user.username,
            role=str(getattr(operator, "role", "") or ""),
            source_ip=self.request.META.get("REMOTE_ADDR"),
            request_id=getattr(self.request, "request_id", ""),
        )

    def render_now(self, response: HttpResponseBase) -> HttpResponseBase:
        # TemplateResponse renders after dispatch returns; render inside the scope instead.
        render = getattr(response, "render", None)
        if callable(render) and not getattr(response, "is_rendered", True):
            render()
        return response


class TenantPortalView(AudienceView):
    """A signed-in, OTP-verified tenant admin; `self.tenant` is theirs and its schema is active."""

    audience = Audience.PORTAL
    tenant: Tenant
    admin: TenantAdmin

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        gate = second_factor_gate(request, self.audience)
        if gate is not None:
            return gate
        admin = TenantAdmin.objects.select_related("tenant").filter(user_id=signed_in_user(request).pk).first()
        if admin is None:
            session = support_session_of(request)
            if session is None:
                raise PermissionDenied("not a tenant admin")
            if (request.method or "GET").upper() not in READ_ONLY_METHODS:
                raise PermissionDenied("support access is read-only")
            # A stand-in, never saved: a support viewer only reads (the method check above).
            admin = TenantAdmin(user=signed_in_user(request), tenant=session.tenant)
            request.support_session = session  # type: ignore[attr-defined]  # read by the portal layout's banner
        if admin.tenant.status != Tenant.Status.ACTIVE:
            raise PermissionDenied("tenant suspended")
        self.admin, self.tenant = admin, admin.tenant
        with schema_context(self.tenant.schema_name):
            return self.render_now(super().dispatch(request, *args, **kwargs))

    @property
    def actor(self) -> Actor:
        """Who directory changes made from this request are attributed to (events, grants, audit)."""
        user = signed_in_user(self.request)
        return Actor(
            kind="portal",
            id=user.username,
            request_id=getattr(self.request, "request_id", ""),
            source_ip=self.request.META.get("REMOTE_ADDR"),
        )


def support_session_of(request: HttpRequest) -> SupportSession | None:
    """The signed-in operator's active support session for the tenant they opened from the console."""
    tenant_id = request.session.get(SUPPORT_TENANT_SESSION_KEY)
    user = signed_in_user(request)
    if not tenant_id or not Operator.objects.filter(user_id=user.pk).exists():
        return None
    tenant = Tenant.objects.filter(pk=tenant_id).first()
    if tenant is None:
        return None
    session = active_support_session(tenant=tenant, operator_id=str(user.pk))
    if session is not None:
        session.tenant = tenant
    return session


class Permission(StrEnum):
    """What an operator may do; roles grant sets of these (ROLE_PERMISSIONS)."""

    VIEW = "view"  # read everything
    ISSUE_SETUP_LINKS = "issue_setup_links"
    REPLAY_DELIVERIES = "replay_deliveries"
    MANAGE_TOKENS = "manage_tokens"  # revoke and rotate SCIM tokens
    MANAGE_TENANTS = "manage_tenants"  # create, suspend, resume
    MANAGE_OPERATORS = "manage_operators"
    MANAGE_WEBHOOKS = "manage_webhooks"
    MANAGE_API_KEYS = "manage_api_keys"


SUPPORT_PERMISSIONS = frozenset(
    {Permission.VIEW, Permission.ISSUE_SETUP_LINKS, Permission.REPLAY_DELIVERIES}
)
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    Operator.Role.SUPPORT: SUPPORT_PERMISSIONS,
    Operator.Role.ADMIN: frozenset(Permission),
}


class OperatorView(AudienceView):
    """A signed-in, OTP-verified operator whose role holds the permission of the request's method.

    Subclasses declare `permissions`, e.g. {"GET": Permission.VIEW, "POST": Permission.MANAGE_TOKENS};
    a method missing from the map is refused (405), so a new handler cannot slip through unchecked.
    """

    audience = Audience.CONSOLE
    permissions: ClassVar[dict[str, Permission]] = {"GET": Permission.VIEW, "HEAD": Permission.VIEW}
    operator: Operator

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        gate = second_factor_gate(request, self.audience)
        if gate is not None:
            return gate
        operator = Operator.objects.filter(user_id=signed_in_user(request).pk).first()
        if operator is None:
            raise PermissionDenied("not an operator")
        method = (request.method or "GET").upper()
        needed = self.permissions.get(method)
        if needed is None:
            return HttpResponseNotAllowed(sorted(self.permissions))
        if needed not in ROLE_PERMISSIONS.get(operator.role, frozenset()):
            raise PermissionDenied(f"role {operator.role} lacks {needed}")
        self.operator = operator
        return self.render_now(super().dispatch(request, *args, **kwargs))

    def can(self, permission: Permission) -> bool:
        return permission in ROLE_PERMISSIONS.get(self.operator.role, frozenset())
