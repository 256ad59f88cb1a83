"""Workspace: Connections. The list, one connection (rename, tokens with rotation and revocation,
disable), and deleting one, which first shows what happens to the users it provisioned."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from directory.connection_users import Disposition, connection_population
from directory.models import DirectoryUser
from portal import bulk
from portal.health import connection_health
from portal.views.base import TenantPortalView
from portal.views.wizard import resume_url
from scim.idp import get_profile
from tenants import connections as services
from tenants.connections import OVERLAP_CHOICES, ConnectionNotFound, ConnectionRefused
from tenants.models import ConnectionSetup, ScimConnection
from tenants.services import scim_base_url


class ConnectionsView(TenantPortalView):
    """/portal/connections: every connection with its health, tokens and users."""

    def get(self, request: HttpRequest) -> HttpResponse:
        health = connection_health(self.tenant)
        tokens = services.active_tokens_by_connection(self.tenant)
        users = dict(
            DirectoryUser.objects.filter(kind=DirectoryUser.Kind.HUMAN)
            .values("source_connection_id")
            .annotate(n=Count("id"))
            .values_list("source_connection_id", "n")
        )
        rows = [
            {
                "health": h,
                "tokens": tokens.get(h.connection.id, []),
                "users": users.get(h.connection.id, 0),
                "resume_url": resume_url(h.setup) if h.setup and h.setup.completed_at is None else "",
            }
            for h in health
        ]
        return render(request, "portal/connections/list.html", {"tenant": self.tenant, "nav": "connections", "rows": rows})


class ConnectionView(TenantPortalView):
    """/portal/connections/<id>: rename, rotate or revoke tokens, disable or enable."""

    template = "portal/connections/detail.html"

    def connection(self, connection_id: str) -> ScimConnection:
        try:
            return services.connection_of(self.tenant, connection_id)
        except ConnectionNotFound:
            raise Http404("no such connection") from None

    def _page(self, request: HttpRequest, connection: ScimConnection, status: int = 200, **extra: Any) -> HttpResponse:
        profile = get_profile(connection.idp)
        setup = ConnectionSetup.objects.filter(connection=connection).first()
        url_label, token_label = profile.credential_labels()
        tokens = services.active_tokens(connection)
        for token in tokens:  # what each row's revoke confirmation posts
            token.revoke_fields = (("action", "revoke"), ("token", token.pk))  # type: ignore[attr-defined]
        context = {
            "tenant": self.tenant,
            "nav": "connections",
            "connection": connection,
            "setup": setup,
            "profile": profile,
            "base_url": profile.scim_base_url_for_idp(scim_base_url(connection)),
            "url_label": url_label,
            "token_label": token_label,
            "tokens": tokens,
            "disable_fields": (("action", "disable"),),
            "overlaps": OVERLAP_CHOICES,
            "resume_url": resume_url(setup) if setup and setup.completed_at is None else "",
            "population": connection_population(connection.id),
            **extra,
        }
        return render(request, self.template, context, status=status)

    def get(self, request: HttpRequest, connection_id: str) -> HttpResponse:
        return self._page(request, self.connection(connection_id))

    def post(self, request: HttpRequest, connection_id: str) -> HttpResponse:
        connection = self.connection(connection_id)
        action = request.POST.get("action", "")
        try:
            if action == "rename":
                services.rename_connection(tenant=self.tenant, connection_id=connection.id, name=request.POST.get("name", ""))
                messages.success(request, "Connection renamed.")
            elif action == "rotate":
                issued = services.rotate_connection_token(
                    tenant=self.tenant, connection_id=connection.id, overlap=request.POST.get("overlap")
                )
                # The token exists in clear only in this response.
                return self._page(request, self.connection(connection_id), new_token=issued.token)
            elif action == "revoke":
                token = services.revoke_token(
                    tenant=self.tenant, connection_id=connection.id, token_id=_int(request.POST.get("token"))
                )
                messages.success(request, f"Token {token.prefix}… no longer works.")
            elif action in {"disable", "enable"}:
                services.set_connection_enabled(tenant=self.tenant, connection_id=connection.id, enabled=action == "enable")
                messages.success(
                    request,
                    "Connection enabled: requests are accepted again."
                    if action == "enable"
                    else "Connection disabled: every request now gets 401 until you enable it.",
                )
            else:
                return self._page(request, connection, status=400, error="Unknown action.")
        except ConnectionRefused as exc:
            return self._page(request, connection, status=400, error=exc.message, error_field=exc.field,
                              name_value=request.POST.get("name", ""))
        return redirect("portal:connection", connection.id)


class DeleteConnectionView(ConnectionView):
    """/portal/connections/<id>/delete: what happens to its users first (keep or deactivate), then delete."""

    template = "portal/connections/delete.html"

    def post(self, request: HttpRequest, connection_id: str) -> HttpResponse:
        connection = self.connection(connection_id)
        try:
            disposition = Disposition(request.POST.get("users", ""))
        except ValueError:
            return self._page(request, connection, status=400, error_field="users",
                              error="Choose what happens to the users first.")
        population = connection_population(connection.id)
        try:
            deleted = services.delete_connection(
                tenant=self.tenant, connection_id=connection.id, confirm_name=request.POST.get("confirm_name", "")
            )
        except ConnectionRefused as exc:
            return self._page(request, connection, status=400, error=exc.message, error_field=exc.field,
                              chosen=disposition.value)
        if disposition is Disposition.DEACTIVATE and population.active_users:
            job_id = bulk.start_connection_deactivation(
                self.tenant, connection_id=deleted.id, idp=connection.idp, requested_by=self.actor.label
            )
            messages.success(
                request,
                f"{deleted.name} is deleted. Its {population.active_users} active users are being deactivated in the background.",
            )
            return redirect(f"{reverse('portal:connections')}?job={job_id}")
        messages.success(request, f"{deleted.name} is deleted. Its users stay in the directory as they are.")
        return redirect("portal:connections")


def _int(raw: str | None) -> int:
    try:
        return int(raw or "")
    except ValueError:
        return -1
