"""Console: a tenant's outbox. The backlog (how many events wait, since when), the events parked after
a handler refused them, and retrying or skipping a parked one (admin only, with a reason, audited)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import messages
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render

from console import services
from outbox.selectors import oldest_pending_event_at, parked_event_count, pending_event_count
from portal.views.base import Permission
from portal.views.console_base import TenantOperatorView
from provisioning.parking import ParkedEvent, parked_events


class ParkedEventActionForm(forms.Form):
    seq = forms.IntegerField(min_value=1, widget=forms.HiddenInput)
    action = forms.ChoiceField(choices=(("retry", "Retry"), ("skip", "Skip")), widget=forms.HiddenInput)
    reason = forms.CharField(
        label="Reason",
        max_length=2000,
        help_text="Kept in the audit log and with the event.",
        widget=forms.TextInput(attrs={"class": "input", "autocomplete": "off"}),
        error_messages={"required": "Say why (it is kept in the audit log)."},
    )


def handler_and_error(event: ParkedEvent) -> tuple[str, str]:
    """The handler named in a parked event's error ("<handler>: <Error>: <text>") and the rest of it."""
    head, _, rest = event.reason.partition(": ")
    if event.held_behind is None and rest and head and " " not in head:
        return head, rest
    return "", event.reason


class TenantOutboxView(TenantOperatorView):
    """/console/tenants/<slug>/outbox."""

    tab = "outbox"
    permissions = {"GET": Permission.VIEW, "HEAD": Permission.VIEW, "POST": Permission.MANAGE_TENANTS}

    def get(self, request: HttpRequest, slug: str) -> HttpResponse:
        return self.page(request)

    def page(self, request: HttpRequest, *, form: ParkedEventActionForm | None = None, status: int = 200) -> HttpResponse:
        parked = parked_events()
        rows: list[dict[str, Any]] = [
            {"event": p, "handler": handler, "error": error} for p in parked for handler, error in [handler_and_error(p)]
        ]
        failed_seq = form.data.get("seq") if form is not None else None
        context: dict[str, Any] = self.tenant_context(
            pending=pending_event_count(),
            oldest_pending_at=oldest_pending_event_at(),
            parked_total=parked_event_count(),
            rows=rows,
            roots=[r for r in rows if r["event"].held_behind is None],
            held=[r for r in rows if r["event"].held_behind is not None],
            can_act=self.can(Permission.MANAGE_TENANTS),
            form=form,
            failed_seq=str(failed_seq or ""),
        )
        return render(request, "console/outbox/outbox.html", context, status=status)

    def post(self, request: HttpRequest, slug: str) -> HttpResponse:
        form = ParkedEventActionForm(request.POST)
        if not form.is_valid():
            return self.page(request, form=form, status=400)
        seq, action, reason = form.cleaned_data["seq"], form.cleaned_data["action"], form.cleaned_data["reason"]
        act = services.retry_parked_event if action == "retry" else services.skip_parked_event
        try:
            released = act(tenant=self.tenant, seq=seq, actor=self.audit_actor(), reason=reason)
        except services.ActionError as exc:
            form.add_error("reason" if "reason" in str(exc) else None, str(exc))
            return self.page(request, form=form, status=400)
        done = "put back in the queue" if action == "retry" else "skipped"
        also = f"; {released} held event{'s' if released != 1 else ''} released with it" if released else ""
        messages.success(request, f"Event #{seq} {done}{also}.")
        return redirect("console:tenant-outbox", slug=self.tenant.slug)
