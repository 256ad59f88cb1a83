"""Console: support access. An operator opens a read-only, time-boxed view of a tenant's portal with a
reason (the tenant's admins see it in their activity log), ends it, and sees the tenant's history.

"Open the portal" remembers the tenant in the operator's session; TenantPortalView then lets this
operator read (GET/HEAD only) that tenant's portal while the session is active."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from portal.views.base import SUPPORT_TENANT_SESSION_KEY, Permission
from portal.views.console_base import TenantOperatorView
from tenants.support_access import (
    MAX_SESSION_MINUTES,
    SupportAccessError,
    active_support_session,
    default_minutes,
    end_support_session,
    start_support_session,
    support_access_log,
)


class StartSupportForm(forms.Form):
    reason = forms.CharField(
        label="Reason",
        max_length=500,
        help_text="The customer's admins see this in their activity log.",
        widget=forms.TextInput(attrs={"class": "input", "placeholder": "e.g. ticket 4412: users not deprovisioned"}),
    )
    minutes = forms.IntegerField(
        label="Minutes",
        min_value=1,
        max_value=MAX_SESSION_MINUTES,
        widget=forms.NumberInput(attrs={"class": "input input--short"}),
    )


class SupportView(TenantOperatorView):
    """/console/tenants/<slug>/support: start or end your support session; the tenant's history."""

    tab = "support"
    # Starting read-only access is part of a support operator's work; every session is audited.
    permissions = {"GET": Permission.VIEW, "HEAD": Permission.VIEW, "POST": Permission.VIEW}

    def get(self, request: HttpRequest, slug: str) -> HttpResponse:
        return self.page(request)

    def post(self, request: HttpRequest, slug: str) -> HttpResponse:
        actor = self.audit_actor()
        if request.POST.get("action") == "end":
            session = active_support_session(tenant=self.tenant, operator_id=actor.id)
            if session is not None:
                end_support_session(session=session, actor=actor)
            if request.session.get(SUPPORT_TENANT_SESSION_KEY) == str(self.tenant.pk):
                del request.session[SUPPORT_TENANT_SESSION_KEY]
            return redirect("console:tenant-support", slug=self.tenant.slug)
        form = StartSupportForm(request.POST)
        if not form.is_valid():
            return self.page(request, form=form, status=400)
        try:
            start_support_session(
                tenant=self.tenant, actor=actor, reason=form.cleaned_data["reason"], minutes=form.cleaned_data["minutes"]
            )
        except SupportAccessError as exc:
            form.add_error(None, str(exc))
            return self.page(request, form=form, status=400)
        return redirect("console:tenant-support", slug=self.tenant.slug)

    def page(self, request: HttpRequest, *, status: int = 200, **extra: Any) -> HttpResponse:
        context = self.tenant_context(
            session=active_support_session(tenant=self.tenant, operator_id=str(self.operator.user_id)),
            history=support_access_log(tenant=self.tenant),
            form=extra.pop("form", None) or StartSupportForm(initial={"minutes": default_minutes()}),
            suspended=self.tenant.status != self.tenant.Status.ACTIVE,
            **extra,
        )
        return render(request, "console/support/index.html", context, status=status)


class OpenPortalView(TenantOperatorView):
    """POST /console/tenants/<slug>/support/open: view this tenant's portal (needs your active session)."""

    tab = "support"
    permissions = {"POST": Permission.VIEW}

    def post(self, request: HttpRequest, slug: str) -> HttpResponse:
        if active_support_session(tenant=self.tenant, operator_id=str(self.operator.user_id)) is None:
            return redirect(reverse("console:tenant-support", args=[self.tenant.slug]) + "?expired=1")
        request.session[SUPPORT_TENANT_SESSION_KEY] = str(self.tenant.pk)
        return redirect("portal:home")
