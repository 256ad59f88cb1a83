"""Workspace: Connections. The list, one connection (rename, tokens with rotation and revocation,
disable), and deleting one, which first shows what happens to the users it provisioned."""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from console.job_runners import JobKind
from directory.connection_users import Disposition, connection_population
from directory.models import DirectoryUser
from portal import jobs
from portal.health import connection_health
from portal.views.base import TenantPortalView
from portal.views.wizard import POLL_DONE, resume_url
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
        if request.htmx and request.GET.get("part") == "job":  # type: ignore[attr-defined]
            return self.job_panel(request)
        job = jobs.job_view(self.tenant, request.GET.get("job", ""), kinds=(JobKind.DEACTIVATE_CONNECTION_USERS,))
        context = {"tenant": self.tenant, "nav": "connections", "rows": rows, "job": job, "poll_url": request.path}
        return render(request, "portal/connections/list.html", context)

    def job_panel(self, request: HttpRequest) -> HttpResponse:
        job = jobs.job_view(self.tenant, request.GET.get("job", ""), kinds=(JobKind.DEACTIVATE_CONNECTION_USERS,))
        if job is None:
            raise Http404("no such job")
        response = render(request, "portal/_job.html", {"job": job, "poll_url": request.path})
        if job.finished:
            response.status_code = POLL_DONE
        return response


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
                services.rename_connection(
                    tenant=self.tenant, connection_id=connection.id, name=request.POST.get("name", ""), actor=self.audit_actor()
                )
                messages.success(request, "Connection renamed.")
            elif action == "rotate":
                issued = services.rotate_connection_token(
                    tenant=self.tenant, connection_id=connection.id, overlap=request.POST.get("overlap"), actor=self.audit_actor()
                )
                # The token exists in clear only in this response.
                return self._page(request, self.connection(connection_id), new_token=issued.token)
            elif action == "revoke":
                token = services.revoke_token(
                    tenant=self.tenant, connection_id=connection.id, token_id=_int(request.POST.get("token")), actor=self.audit_actor()
                )
                messages.success(request, f"Token {token.prefix}… no longer works.")
            elif action in {"disable", "enable"}:
                services.set_connection_enabled(
                    tenant=self.tenant, connection_id=connection.id, enabled=action == "enable", actor=self.audit_actor()
                )
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
        confirm = request.POST.get("confirm_name", "")
        try:
            if disposition is Disposition.DEACTIVATE and population.active_users:
                deleted, job_id = jobs.delete_connection_and_deactivate(
                    tenant=self.tenant, connection_id=connection.id, idp=connection.idp, confirm_name=confirm,
                    audit=self.audit_actor(),
                )
                messages.success(request, f"{deleted.name} is deleted. Its active users are being deactivated.")
                return redirect(f"{reverse('portal:connections')}?job={job_id}")
            deleted = services.delete_connection(
                tenant=self.tenant, connection_id=connection.id, confirm_name=confirm, users=disposition.value,
                actor=self.audit_actor(),
            )
        except ConnectionRefused as exc:
            return self._page(request, connection, status=400, error=exc.message, error_field=exc.field,
                              chosen=disposition.value)
        messages.success(request, f"{deleted.name} is deleted. Its users stay in the directory as they are.")
        return redirect("portal:connections")


def _int(raw: str | None) -> int:
    try:
        return int(raw or "")
    except ValueError:
        return -1
