"""Console: the audit log, of every tenant (`/console/audit`) or one (`/console/tenants/<slug>/audit`),
newest first and keyset-paged, with filters; exports as a job (CSV or JSON) or streamed directly.

Rows are worded with the customer portal's audit helpers (portal.views.activity), so an action
reads the same to the operator and to the tenant's admins."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from django import forms
from django.db.models import Q
from django.http import HttpRequest, HttpResponseBase, QueryDict, StreamingHttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone

from console import services
from console.jobs import JobError
from portal.views.activity import AUDIT_SENTENCES, audit_detail
from portal.views.base import OperatorView, Permission
from portal.views.console_base import TenantOperatorView
from portal.views.console_jobs import job_card
from tenants.audit import AuditCursor, AuditEventType, AuditWindow, ExportFormat, stream_audit_export
from tenants.models import AuditEvent, Tenant

PAGE = 50
ACTOR_KINDS: tuple[tuple[str, str], ...] = (
    ("", "Anyone"),
    ("operator", "Operators"),
    ("tenant_admin", "Tenant admins"),
    ("cli", "Command line"),
    ("system", "System"),
)
ACTOR_LABELS = {"operator": "Operator", "tenant_admin": "Tenant admin", "cli": "Command line", "system": "System"}
DATETIME_INPUT = forms.DateTimeInput(attrs={"class": "input", "type": "datetime-local"}, format="%Y-%m-%dT%H:%M")


class TenantSlugField(forms.CharField):
    """A tenant by slug, typed (a select of 10,000 tenants would be the page's heaviest part); empty: all."""

    def __init__(self) -> None:
        super().__init__(
            label="Tenant",
            required=False,
            max_length=40,
            widget=forms.TextInput(attrs={"class": "input", "placeholder": "All, or a slug"}),
        )

    def clean(self, value: Any) -> str:
        slug = str(super().clean(value) or "").strip()
        if slug and not Tenant.objects.filter(slug=slug).exists():
            raise forms.ValidationError("No tenant has this slug.")
        return slug


class AuditFilterForm(forms.Form):
    """The query-string filters; an invalid one is shown next to its field and ignored."""

    tenant = TenantSlugField()
    actor = forms.ChoiceField(label="Actor", required=False, choices=ACTOR_KINDS, widget=forms.Select(attrs={"class": "input"}))
    type = forms.ChoiceField(
        label="Event",
        required=False,
        choices=[("", "Any event"), *((t.value, t.value) for t in AuditEventType)],
        widget=forms.Select(attrs={"class": "input"}),
    )
    since = forms.DateTimeField(label="From (UTC)", required=False, widget=DATETIME_INPUT)
    until = forms.DateTimeField(label="To (UTC)", required=False, widget=DATETIME_INPUT)

    def __init__(self, *args: Any, global_scope: bool, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if not global_scope:
            del self.fields["tenant"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            self.add_error("until", "The end must be after the start.")
        return data


class ExportForm(forms.Form):
    format = forms.ChoiceField(label="Format", choices=[("csv", "CSV"), ("json", "JSON")], widget=forms.Select(attrs={"class": "input"}))
    since = forms.DateTimeField(label="From (UTC)", required=False, widget=DATETIME_INPUT)
    until = forms.DateTimeField(label="To (UTC)", required=False, widget=DATETIME_INPUT)
    tenant = TenantSlugField()

    def __init__(self, *args: Any, global_scope: bool, **kwargs: Any) -> None:
        kwargs.setdefault("auto_id", "export-%s")  # the filter form on the same page has the same field names
        super().__init__(*args, **kwargs)
        if not global_scope:
            del self.fields["tenant"]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if data.get("since") and data.get("until") and data["since"] >= data["until"]:
            self.add_error("until", "The end must be after the start.")
        return data


def _utc(moment: datetime | None) -> datetime | None:
    if moment is None:
        return None
    return moment.replace(tzinfo=UTC) if timezone.is_naive(moment) else moment.astimezone(UTC)


def audit_page(
    window: AuditWindow, *, actor_kind: str = "", event_type: str = "", before: AuditCursor | None = None, limit: int = PAGE
) -> tuple[list[AuditEvent], AuditCursor | None]:
    """Newest first, keyset-paged on (occurred_at, id); the cursor of the next page, if there is one."""
    qs = window.queryset()
    if actor_kind:
        qs = qs.filter(actor_kind=actor_kind)
    if event_type:
        qs = qs.filter(type=event_type)
    if before is not None:
        qs = qs.filter(Q(occurred_at__lt=before[0]) | Q(occurred_at=before[0], id__lt=before[1]))
    rows = list(qs.order_by("-occurred_at", "-id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return rows, ((rows[-1].occurred_at, rows[-1].pk) if more and rows else None)


def _cursor(raw: str) -> AuditCursor | None:
    moment, _, pk = (raw or "").partition("|")
    try:
        return datetime.fromisoformat(moment), int(pk)
    except ValueError:
        return None


def _next_query(params: QueryDict, cursor: AuditCursor | None) -> str:
    if cursor is None:
        return ""
    following = params.copy()
    following["before"] = f"{cursor[0].isoformat()}|{cursor[1]}"
    return following.urlencode()


def _row(event: AuditEvent, tenants: dict[Any, Tenant]) -> dict[str, Any]:
    return {
        "row": event,
        "who": event.actor_label or event.actor_id,
        "kind": ACTOR_LABELS.get(event.actor_kind, event.actor_kind),
        "what": AUDIT_SENTENCES.get(event.type, event.type.replace("_", " ").replace(".", " ")),
        "detail": audit_detail(event),
        "target_type": event.target_type.replace("_", " "),
        "target_id": event.target_id if len(event.target_id) <= 14 else event.target_id[:8] + "…",
        "tenant": tenants.get(event.tenant_id),
    }


class AuditPage(OperatorView):
    """What the global and the tenant audit pages share: filters, paging, export and the job card."""

    permissions = {"GET": Permission.VIEW, "HEAD": Permission.VIEW, "POST": Permission.VIEW}

    def scope_tenant(self) -> Tenant | None:
        return None

    def context(self, **extra: Any) -> dict[str, Any]:
        return {"operator": self.operator, "nav": "audit", **extra}

    def render_page(self, request: HttpRequest, *, export_form: ExportForm | None = None, status: int = 200) -> HttpResponseBase:
        scope = self.scope_tenant()
        global_scope = scope is None
        filters = AuditFilterForm(request.GET or None, global_scope=global_scope)
        values: dict[str, Any] = filters.cleaned_data if filters.is_bound and filters.is_valid() else {}
        if filters.is_bound and not filters.is_valid():
            values = {k: v for k, v in filters.cleaned_data.items() if k not in filters.errors}
            status = 400
        tenant = scope
        if global_scope and values.get("tenant"):
            tenant = Tenant.objects.filter(slug=values["tenant"]).first()
        window = AuditWindow(
            tenant_id=str(tenant.pk) if tenant else None, since=_utc(values.get("since")), until=_utc(values.get("until"))
        )
        if request.GET.get("download") in {"csv", "json"}:
            return self.stream(window, ExportFormat(request.GET["download"]), tenant)
        before = _cursor(request.GET.get("before", ""))
        rows, next_cursor = audit_page(
            window, actor_kind=values.get("actor", ""), event_type=values.get("type", ""), before=before
        )
        tenants = {t.pk: t for t in Tenant.objects.filter(pk__in={r.tenant_id for r in rows if r.tenant_id})}
        params = request.GET.copy()
        for key in ("before", "job", "download"):
            params.pop(key, None)
        initial = {"since": values.get("since"), "until": values.get("until")}
        if global_scope and tenant:
            initial["tenant"] = tenant.slug
        context = self.context(
            entries=[_row(r, tenants) for r in rows],
            filters=filters,
            filtered=any(values.get(k) for k in ("tenant", "actor", "type", "since", "until")),
            export_form=export_form or ExportForm(global_scope=global_scope, initial=initial),
            job=job_card(request.GET.get("job", ""), tenant=scope),
            base_query=params.urlencode(),
            next_query=_next_query(params, next_cursor),
            first_page=before is None,
            global_scope=global_scope,
        )
        return render(request, "console/audit/index.html", context, status=status)

    def stream(self, window: AuditWindow, fmt: ExportFormat, tenant: Tenant | None) -> StreamingHttpResponse:
        response = StreamingHttpResponse(stream_audit_export(window, fmt), content_type=fmt.content_type)
        scope = tenant.slug if tenant else "all-tenants"
        response["Content-Disposition"] = f'attachment; filename="rollcall-audit-{scope}-{timezone.now():%Y%m%d-%H%M}.{fmt.value}"'
        return response

    def export(self, request: HttpRequest, url: str) -> HttpResponseBase:
        scope = self.scope_tenant()
        form = ExportForm(request.POST, global_scope=scope is None)
        if not form.is_valid():
            return self.render_page(request, export_form=form, status=400)
        data = form.cleaned_data
        tenant = scope
        if scope is None and data.get("tenant"):
            tenant = Tenant.objects.filter(slug=data["tenant"]).first()
        try:
            job = services.request_audit_export(
                actor=self.audit_actor(), tenant=tenant, fmt=data["format"], since=_utc(data["since"]), until=_utc(data["until"])
            )
        except JobError as exc:
            form.add_error(None, str(exc))
            return self.render_page(request, export_form=form, status=400)
        return redirect(f"{url}?job={job.pk}#export")


class AuditLogView(AuditPage):
    """/console/audit: every tenant's audit log (and the console's own actions)."""

    def get(self, request: HttpRequest) -> HttpResponseBase:
        return self.render_page(request)

    def post(self, request: HttpRequest) -> HttpResponseBase:
        return self.export(request, request.path)


class TenantAuditView(AuditPage, TenantOperatorView):
    """/console/tenants/<slug>/audit: one tenant's audit log."""

    tab = "audit"

    def scope_tenant(self) -> Tenant | None:
        return self.tenant

    def context(self, **extra: Any) -> dict[str, Any]:
        return self.tenant_context(**extra)

    def get(self, request: HttpRequest, slug: str) -> HttpResponseBase:
        return self.render_page(request)

    def post(self, request: HttpRequest, slug: str) -> HttpResponseBase:
        return self.export(request, request.path)

