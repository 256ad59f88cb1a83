"""Portal pages outside the wizard: the workspace overview and the admins of the tenant."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from directory.listing import directory_population
from directory.roles import seat_counts
from portal.forms import InviteForm
from portal.health import connection_health
from portal.views.base import TenantPortalView, signed_in_user
from portal.views.wizard import resume_url
from provisioning.selectors import unread_notifications
from tenants import accounts
from tenants.accounts import AccountError
from tenants.models import SetupLink, TenantAdmin


class HomeView(TenantPortalView):
    """/portal/: the workspace overview. Connection health against each IdP's cadence, requests and
    errors in 24 h, users, groups, seats by role, open notifications; a fresh tenant starts the wizard."""

    def get(self, request: HttpRequest) -> HttpResponse:
        health = connection_health(self.tenant)
        if not health:
            return redirect("portal:wizard-new")
        unfinished = [h for h in health if h.setup is not None and h.setup.completed_at is None]
        context = {
            "tenant": self.tenant,
            "nav": "home",
            "health": health,
            "unfinished": [(h, resume_url(h.setup)) for h in unfinished if h.setup is not None],
            "population": directory_population(),
            "seats": seat_counts(),
            "notifications": unread_notifications(limit=5),
        }
        return render(request, "portal/home.html", context)


class AdminsView(TenantPortalView):
    """/portal/admins: who can sign in to this portal; invite another admin or remove one."""

    template = "portal/admins.html"

    def _page(self, request: HttpRequest, form: InviteForm, status: int = 200, **extra: object) -> HttpResponse:
        admins = list(
            TenantAdmin.objects.filter(tenant=self.tenant).select_related("user", "invited_by").order_by("created_at")
        )
        for admin in admins:  # what the remove confirmation dialog of each row needs
            admin.dialog_id = f"remove-{admin.pk}"  # type: ignore[attr-defined]
            admin.dialog_title = f"Remove {admin.user.email}?"  # type: ignore[attr-defined]
            admin.remove_fields = (("action", "remove"), ("admin", admin.pk))  # type: ignore[attr-defined]
        invites = list(
            SetupLink.objects.filter(
                tenant=self.tenant,
                purpose=SetupLink.Purpose.INVITE,
                used_at__isnull=True,
                revoked_at__isnull=True,
                expires_at__gt=timezone.now(),
            ).order_by("-created_at")
        )
        context = {
            "tenant": self.tenant,
            "admins": admins,
            "invites": invites,
            "form": form,
            "nav": "admins",
            "me": request.user.pk,
            "last_admin": len(admins) <= 1,
            **extra,
        }
        return render(request, self.template, context, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._page(request, InviteForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        action = request.POST.get("action")
        if action == "invite":
            form = InviteForm(request.POST)
            if not form.is_valid():
                return self._page(request, form, status=400)
            try:
                url = accounts.invite_admin(
                    tenant=self.tenant,
                    email=form.cleaned_data["email"],
                    invited_by=signed_in_user(request),
                    actor=self.audit_actor(),
                )
            except AccountError as exc:
                form.add_error("email", exc.message)
                return self._page(request, form, status=400)
            return self._page(request, InviteForm(), invite_url=url, invited_email=form.cleaned_data["email"])
        try:
            if action == "remove":
                email = accounts.remove_admin(
                    tenant=self.tenant,
                    admin_id=_int(request.POST.get("admin")),
                    actor=signed_in_user(request),
                    audit_actor=self.audit_actor(),
                )
                messages.success(request, f"{email} can no longer sign in.")
            elif action == "revoke_invite":
                accounts.revoke_invite(
                    tenant=self.tenant, invite_id=_int(request.POST.get("invite")), actor=self.audit_actor()
                )
                messages.success(request, "The invite link no longer works.")
            else:
                return self._page(request, InviteForm(), status=400, error="Unknown action.")
        except AccountError as exc:
            return self._page(request, InviteForm(), status=400, error=exc.message)
        return redirect("portal:admins")


def _int(raw: str | None) -> int:
    try:
        return int(raw or "")
    except ValueError:
        return -1
