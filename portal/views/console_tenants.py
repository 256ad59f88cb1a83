"""Console tenant pages: the list (/console/), creating a tenant, a tenant's overview, its tokens.

Thin views: a form or the query string in, one selector or service of console/ and tenants/ out.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Any
from urllib.parse import urlencode

from django import forms
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from console import services as console_services
from console.setup_progress import SetupStage, setup_progress
from console.tenant_list import (
    TenantFilter,
    TenantListError,
    TenantPage,
    TenantSort,
    filter_counts,
    tenant_list,
)
from console.tokens_panel import connection_tokens
from portal import console_charts as charts
from portal.views.base import OperatorView, Permission
from portal.views.console_base import TenantOperatorView
from tenants import services
from tenants.context import TenantRef
from tenants.models import ScimConnection, SetupLink, Tenant, TenantHealth, TenantHealthDay, TenantHealthHour

CREATED_SETUP_URL = "console:created-setup-url"  # session key: the new tenant's setup link, shown once

FILTER_LABELS = {
    TenantFilter.ERRORS_LAST_HOUR: "Errors in the last hour",
    TenantFilter.SETUP_STALLED: "Setup stalled",
    TenantFilter.WEBHOOKS_FAILING: "Webhooks failing",
    TenantFilter.SUSPENDED: "Suspended",
}

# The list's columns in order; a sortable one names its TenantSort.
COLUMNS: tuple[tuple[str, TenantSort | None, str], ...] = (
    ("Tenant", TenantSort.NAME, ""),
    ("IdP", None, ""),
    ("Setup", None, ""),
    ("Last request", TenantSort.LAST_REQUEST, ""),
    ("Requests 24 h", TenantSort.REQUESTS, "num"),
    ("Error rate", TenantSort.ERROR_RATE, "num"),
    ("Backlog", TenantSort.BACKLOG, "num"),
    ("Webhooks", TenantSort.WEBHOOK_FAILURES, "num"),
    ("Users", TenantSort.USERS, "num"),
)


@dataclass(frozen=True)
class Link:
    label: str
    url: str
    current: bool = False
    count: int | None = None
    css: str = ""


def _query(**params: str | None) -> str:
    return "?" + urlencode({k: v for k, v in params.items() if v})


class TenantListView(OperatorView):
    """Tenants at a glance: one rollup query for the page and one for the chip counts, at any tenant count."""

    permissions = {"GET": Permission.VIEW, "HEAD": Permission.VIEW}

    def get(self, request: HttpRequest) -> HttpResponse:
        search = request.GET.get("q", "").strip()[:200]
        raw_filter = request.GET.get("filter", "")
        raw_sort = request.GET.get("sort", "")
        error = ""
        page: TenantPage | None = None
        try:
            page = tenant_list(search=search, filter=raw_filter or None, sort=raw_sort or None, cursor=request.GET.get("cursor"))
        except TenantListError as exc:
            error = str(exc)
        current_filter = page.filter.value if page and page.filter else ""
        current_sort = page.sort if page else TenantSort.NAME
        sort_param = current_sort.value if current_sort is not TenantSort.NAME else ""
        counts = filter_counts(search=search)
        chips = [Link("All tenants", _query(q=search, sort=sort_param), current=not current_filter)] + [
            Link(label, _query(q=search, filter=f.value, sort=sort_param), current=current_filter == f.value, count=counts[f])
            for f, label in FILTER_LABELS.items()
        ]
        headers = [
            Link(label, _query(q=search, filter=current_filter, sort=sort.value if sort is not TenantSort.NAME else ""),
                 current=sort is current_sort, css=css) if sort else Link(label, "", css=css)
            for label, sort, css in COLUMNS
        ]
        next_url = (
            _query(q=search, filter=current_filter, sort=sort_param, cursor=page.next_cursor) if page and page.next_cursor else ""
        )
        context = {
            "operator": self.operator,
            "nav": "tenants",
            "page": page,
            "rows": page.rows if page else [],
            "error": error,
            "search": search,
            "chips": chips,
            "headers": headers,
            "next_url": next_url,
            "first_url": _query(q=search, filter=current_filter, sort=sort_param),
            "is_first_page": not request.GET.get("cursor"),
            "filtered": bool(search or current_filter),
            "can_create": self.can(Permission.MANAGE_TENANTS),
            "stage_count": len(SetupStage) - 1,
        }
        return render(request, "console/home.html", context)


# --------------------------------------------------------------------------- create


class TenantForm(forms.Form):
    name = forms.CharField(label="Name", max_length=200, help_text="The customer's name as your team knows it.")
    slug = forms.CharField(
        label="Slug", max_length=40, help_text="3-40 lower-case letters, digits and dashes; used in URLs and the schema name."
    )

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if "name" in data and "slug" in data:
            try:
                data["name"] = services.validate_new_tenant(name=data["name"], slug=data["slug"])
            except services.TenantError as exc:
                message = str(exc)
                self.add_error("name" if message.startswith("name") else "slug", message[:1].upper() + message[1:] + ".")
        return data


class TenantCreateView(OperatorView):
    permissions = {"GET": Permission.MANAGE_TENANTS, "POST": Permission.MANAGE_TENANTS}

    def _render(self, form: TenantForm) -> HttpResponse:
        context = {"operator": self.operator, "nav": "tenants", "form": form}
        return render(self.request, "console/tenants/create.html", context, status=400 if form.errors else 200)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render(TenantForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        form = TenantForm(request.POST)
        if not form.is_valid():
            return self._render(form)
        try:
            created = services.create_tenant(name=form.cleaned_data["name"], slug=form.cleaned_data["slug"], actor=self.audit_actor())
        except services.TenantError as exc:  # a race with another creation of the same slug
            form.add_error("slug", str(exc))
            return self._render(form)
        request.session[CREATED_SETUP_URL] = {"slug": created.tenant.slug, "url": created.setup_url}
        return redirect("console:tenant", slug=created.tenant.slug)


# --------------------------------------------------------------------------- overview


STEP_LABELS = {
    SetupStage.LINK_ISSUED: "Link issued",
    SetupStage.LINK_OPENED: "Link opened",
    SetupStage.ENROLLED: "Enrolled",
    SetupStage.CONNECTED: "Connected",
    SetupStage.MAPPED: "Mapped",
    SetupStage.VERIFIED: "Verified",
}


@dataclass(frozen=True)
class ProgressStep:
    label: str
    state: str  # done | current | upcoming (the stepper component's states)
    url: str = ""


class ReasonForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=500, widget=forms.Textarea(attrs={"rows": 2}))


def _health_charts(tenant: Tenant) -> list[charts.Chart]:
    """The overview's charts from the tenant's rollup rows of the last 48 hours and 14 days (two queries)."""
    now = timezone.now()
    hours = list(TenantHealthHour.objects.filter(tenant=tenant, hour__gte=now - timedelta(hours=48)).order_by("hour"))
    days = list(TenantHealthDay.objects.filter(tenant=tenant, day__gte=(now - timedelta(days=14)).date()).order_by("day"))
    requests = [charts.HourRequests(h.hour, h.status_2xx, h.status_4xx, h.status_5xx) for h in hours]
    events = [
        charts.HourEvents(h.hour, h.events_appended, h.events_handled, h.event_lag_avg_seconds, h.event_lag_max_seconds)
        for h in hours
    ]
    webhooks = [charts.HourWebhooks(h.hour, h.webhooks_succeeded, h.webhooks_failed, h.webhooks_dead) for h in hours]
    latency = [charts.DayLatency(d.day, d.deprovision_p50_seconds, d.deprovision_p95_seconds) for d in days]
    return [
        charts.requests_chart(requests, end=now),
        charts.webhook_success_chart(webhooks, end=now),
        charts.events_chart(events, end=now),
        charts.event_lag_chart(events, end=now),
        charts.deprovision_chart(latency, today=now.date()),
    ]


class TenantPageMixin:
    """Renders the overview; the action views below post to their own URLs and render it with the outcome."""

    tab = "overview"

    def render_overview(self: Any, *, status: int = 200, **extra: Any) -> HttpResponse:
        tenant: Tenant = self.tenant
        progress = setup_progress(TenantRef.of(tenant))
        reached = progress.stage
        steps = [
            ProgressStep(label, "done" if stage <= reached else ("current" if stage == reached + 1 else "upcoming"))
            for stage, label in STEP_LABELS.items()
        ]
        created_link = self.request.session.get(CREATED_SETUP_URL)
        if created_link and created_link.get("slug") == tenant.slug and "setup_url" not in extra:
            extra["setup_url"] = created_link["url"]
            extra["just_created"] = True
            del self.request.session[CREATED_SETUP_URL]
        context = self.tenant_context(
            health=TenantHealth.objects.filter(tenant=tenant).first(),
            steps=steps,
            stage=reached,
            stage_label=STEP_LABELS.get(reached, "Not started"),
            reached=progress.reached,
            charts=_health_charts(tenant),
            live_links=SetupLink.objects.filter(
                tenant=tenant, revoked_at__isnull=True, used_at__isnull=True, expires_at__gt=timezone.now()
            ).count(),
            can_issue=self.can(Permission.ISSUE_SETUP_LINKS),
            can_manage=self.can(Permission.MANAGE_TENANTS),
            revoke_form=extra.pop("revoke_form", None) or ReasonForm(prefix="revoke"),
            suspend_form=extra.pop("suspend_form", None) or ReasonForm(prefix="suspend"),
            resume_fields=[("action", "resume")],
            **extra,
        )
        return render(self.request, "console/tenants/overview.html", context, status=status)


class TenantOverviewView(TenantPageMixin, TenantOperatorView):
    permissions = {"GET": Permission.VIEW, "HEAD": Permission.VIEW}

    def get(self, request: HttpRequest, slug: str) -> HttpResponse:
        return self.render_overview()


class TenantSetupLinkView(TenantPageMixin, TenantOperatorView):
    """POST: issue a new setup link (shown once, on the page this answers with) or revoke the live ones."""

    permissions = {"POST": Permission.ISSUE_SETUP_LINKS}

    def post(self, request: HttpRequest, slug: str) -> HttpResponse:
        if request.POST.get("action") == "revoke":
            form = ReasonForm(request.POST, prefix="revoke")
            if not form.is_valid():
                return self.render_overview(status=400, revoke_form=form, open_revoke=True)
            count = services.revoke_setup_links(tenant=self.tenant, actor=self.audit_actor(), reason=form.cleaned_data["reason"])
            return self.render_overview(notice=f"Revoked {count} setup link{'' if count == 1 else 's'}." if count else "There was no live setup link to revoke.")
        url = services.issue_setup_link(tenant=self.tenant, actor=self.audit_actor())
        return self.render_overview(setup_url=url)


class TenantStatusView(TenantPageMixin, TenantOperatorView):
    """POST: suspend (reason required, then a confirmation) or resume the tenant."""

    permissions = {"POST": Permission.MANAGE_TENANTS}

    def post(self, request: HttpRequest, slug: str) -> HttpResponse:
        actor = self.audit_actor()
        if request.POST.get("action") == "resume":
            services.resume_tenant(tenant=self.tenant, actor=actor)
            return self.render_overview(notice="Tenant resumed: its identity provider's requests are accepted again.")
        form = ReasonForm(request.POST, prefix="suspend")
        if not form.is_valid():
            return self.render_overview(status=400, suspend_form=form, open_suspend=True)
        if request.POST.get("confirmed") != "1":
            fields = [("action", "suspend"), ("suspend-reason", form.cleaned_data["reason"]), ("confirmed", "1")]
            return self.render_overview(suspend_form=form, confirm_suspend=fields)
        services.suspend_tenant(tenant=self.tenant, actor=actor, reason=form.cleaned_data["reason"])
        return self.render_overview(notice="Tenant suspended: every SCIM request now gets 401 and its pipeline stops. Nothing was deleted.")


class TenantRollupRebuildView(TenantOperatorView):
    """POST: recompute this tenant's health figures over the last 48 hours, as a job in the worker."""

    permissions = {"POST": Permission.MANAGE_TENANTS}

    def post(self, request: HttpRequest, slug: str) -> HttpResponse:
        job = console_services.request_rollup_rebuild(actor=self.audit_actor(), tenant=self.tenant, hours=48)
        return redirect("console:job", job_id=job.id)


# --------------------------------------------------------------------------- connections & tokens


OVERLAPS = {"1": timedelta(hours=1), "24": timedelta(hours=24), "72": timedelta(hours=72), "168": timedelta(days=7)}


class RotateForm(forms.Form):
    connection = forms.CharField(widget=forms.HiddenInput)
    overlap = forms.ChoiceField(
        label="Old token keeps working for",
        choices=[("1", "1 hour"), ("24", "24 hours"), ("72", "3 days"), ("168", "7 days")],
        initial="24",
    )


class RevokeForm(forms.Form):
    connection = forms.CharField(widget=forms.HiddenInput)
    reason = forms.CharField(label="Reason", max_length=500)


class TenantTokensView(TenantOperatorView):
    tab = "tokens"
    permissions = {"GET": Permission.VIEW, "HEAD": Permission.VIEW, "POST": Permission.MANAGE_TOKENS}

    def _render(self, *, status: int = 200, **extra: Any) -> HttpResponse:
        context = self.tenant_context(
            connections=connection_tokens(self.tenant),
            can_manage=self.can(Permission.MANAGE_TOKENS),
            **extra,
        )
        return render(self.request, "console/tenants/tokens.html", context, status=status)

    def _connection(self, connection_id: str) -> ScimConnection:
        connection = ScimConnection.objects.filter(pk=connection_id, tenant=self.tenant).first()
        if connection is None:
            raise Http404("no such connection of this tenant")
        return connection

    def get(self, request: HttpRequest, slug: str) -> HttpResponse:
        return self._render()

    def post(self, request: HttpRequest, slug: str) -> HttpResponse:
        if request.POST.get("action") == "revoke":
            revoke = RevokeForm(request.POST, prefix="revoke")
            if not revoke.is_valid():
                return self._render(status=400, revoke_form=revoke, revoke_for=request.POST.get("revoke-connection", ""))
            connection = self._connection(revoke.cleaned_data["connection"])
            count = services.revoke_tokens(connection=connection, actor=self.audit_actor(), reason=revoke.cleaned_data["reason"])
            return self._render(notice=f"Revoked {count} token{'' if count == 1 else 's'} of {connection.name}: its requests now get 401.")
        rotate = RotateForm(request.POST, prefix="rotate")
        if not rotate.is_valid():
            return self._render(status=400, notice_error="Choose how long the old token keeps working.")
        connection = self._connection(rotate.cleaned_data["connection"])
        issued = services.rotate_token(
            connection=connection, actor=self.audit_actor(), overlap=OVERLAPS[rotate.cleaned_data["overlap"]]
        )
        return self._render(new_token=issued.token, new_token_for=connection, scim_url=issued.scim_base_url,
                            overlap_label=dict(rotate.fields["overlap"].choices)[rotate.cleaned_data["overlap"]])  # type: ignore[attr-defined]
