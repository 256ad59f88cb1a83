"""Console: a tenant's webhook endpoints and deliveries (replay one, bulk replay as a job) and its
Events API keys. Secrets (an endpoint's signing secret, an API key) are shown once, on the response
to the action that made them, and never again."""

from __future__ import annotations

import uuid
from typing import Any, cast

from django import forms
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse

from console import services
from console.jobs import JobError
from portal.views.base import Permission
from portal.views.console_base import TenantOperatorView
from portal.views.console_jobs import job_card
from provisioning.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint
from provisioning.selectors import webhook_deliveries
from tenants import services as tenant_services
from tenants.models import ApiKey

STATUS_FILTERS = (
    ("", "All"),
    ("dead", "Dead letter"),
    ("retrying", "Retrying"),
    ("pending", "Pending"),
    ("succeeded", "Delivered"),
)
STATUS_TONES = {"succeeded": "ok", "dead": "error", "retrying": "warning", "pending": "", "sending": "accent"}
DELIVERY_PAGE = 50


def _error(error: str, status_code: int | None) -> str:
    """The error worth showing next to the status code ("HTTP 500" beside a 500 says nothing new)."""
    return "" if status_code and error.strip() == f"HTTP {status_code}" else error


class EndpointForm(forms.Form):
    url = forms.URLField(label="URL", max_length=2000, assume_scheme="https", widget=forms.URLInput(attrs={"class": "input", "placeholder": "https://app.example.com/hooks/rollcall"}))
    description = forms.CharField(label="Description", max_length=200, required=False, widget=forms.TextInput(attrs={"class": "input"}))


class BulkReplayForm(forms.Form):
    endpoint = forms.ChoiceField(label="Endpoint", widget=forms.Select(attrs={"class": "input"}))
    seq_from = forms.IntegerField(label="From seq", required=False, min_value=1, widget=forms.NumberInput(attrs={"class": "input"}))
    seq_to = forms.IntegerField(label="To seq", required=False, min_value=1, widget=forms.NumberInput(attrs={"class": "input"}))
    since = forms.DateTimeField(label="From (UTC)", required=False, widget=forms.DateTimeInput(attrs={"class": "input", "type": "datetime-local"}))
    until = forms.DateTimeField(label="To (UTC)", required=False, widget=forms.DateTimeInput(attrs={"class": "input", "type": "datetime-local"}))
    dead_only = forms.BooleanField(label="Only dead deliveries", required=False, initial=True)
    reason = forms.CharField(label="Reason", max_length=500, required=False, widget=forms.TextInput(attrs={"class": "input", "placeholder": "Ticket or note for the audit log"}))

    def __init__(self, *args: Any, endpoints: list[WebhookEndpoint], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        cast(forms.ChoiceField, self.fields["endpoint"]).choices = [(str(e.pk), e.description or e.url) for e in endpoints]

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        if all(data.get(k) in (None, "") for k in ("seq_from", "seq_to", "since", "until")) and not self.errors:
            raise forms.ValidationError("Give a seq range or a time range to replay.")
        if data.get("seq_from") and data.get("seq_to") and data["seq_from"] > data["seq_to"]:
            self.add_error("seq_to", "The last seq must not be before the first.")
        if data.get("since") and data.get("until") and data["since"] > data["until"]:
            self.add_error("until", "The end must be after the start.")
        return data


class ReplayForm(forms.Form):
    reason = forms.CharField(label="Reason", max_length=500, required=False, widget=forms.TextInput(attrs={"class": "input", "placeholder": "Ticket or note for the audit log"}))


class WebhooksView(TenantOperatorView):
    """/console/tenants/<slug>/webhooks: endpoints, deliveries by status (dead letter included), and
    bulk replay; POST registers an endpoint (its secret is shown once)."""

    tab = "webhooks"
    permissions = {"GET": Permission.VIEW, "HEAD": Permission.VIEW, "POST": Permission.MANAGE_WEBHOOKS}

    def get(self, request: HttpRequest, slug: str) -> HttpResponse:
        return self.page(request)

    def post(self, request: HttpRequest, slug: str) -> HttpResponse:
        form = EndpointForm(request.POST)
        if not form.is_valid():
            return self.page(request, endpoint_form=form, status=400)
        try:
            created = services.create_webhook_endpoint(
                tenant=self.tenant,
                url=form.cleaned_data["url"],
                description=form.cleaned_data["description"],
                actor=self.audit_actor(),
            )
        except services.ActionError as exc:
            form.add_error("url", str(exc))
            return self.page(request, endpoint_form=form, status=400)
        return self.page(request, secret=created.secret, secret_for=created.endpoint)

    def page(self, request: HttpRequest, *, status: int = 200, **extra: Any) -> HttpResponse:
        return webhooks_page(self, request, status=status, **extra)


def webhooks_page(view: TenantOperatorView, request: HttpRequest, *, status: int = 200, **extra: Any) -> HttpResponse:
    """The Webhooks page (also the answer to the actions posted from it: a form with errors, a secret shown once)."""
    endpoints = list(WebhookEndpoint.objects.order_by("created_at"))
    status_filter = request.GET.get("status", "")
    if status_filter not in {value for value, _ in STATUS_FILTERS}:
        status_filter = ""
    endpoint_filter = request.GET.get("endpoint", "")
    if endpoint_filter not in {str(e.pk) for e in endpoints}:
        endpoint_filter = ""
    names = {str(e.pk): e.description or e.url for e in endpoints}
    rows = webhook_deliveries(endpoint_id=endpoint_filter or None, status=status_filter or None, limit=DELIVERY_PAGE)
    counts = dict(WebhookDelivery.objects.values_list("status").annotate(n=Count("id")).values_list("status", "n"))
    context = view.tenant_context(
        endpoints=endpoints,
        deliveries=[
            {"row": r, "endpoint": names.get(r.endpoint_id, ""), "tone": STATUS_TONES.get(r.status, ""), "error": _error(r.last_error, r.last_status_code)}
            for r in rows
        ],
        status_filter=status_filter,
        endpoint_filter=endpoint_filter,
        status_filters=[(value, label, sum(counts.values()) if not value else counts.get(value, 0)) for value, label in STATUS_FILTERS],
        endpoint_form=extra.pop("endpoint_form", None) or EndpointForm(),
        replay_form=extra.pop("replay_form", None) or BulkReplayForm(endpoints=endpoints, initial={"dead_only": True}),
        can_manage=view.can(Permission.MANAGE_WEBHOOKS),
        can_replay=view.can(Permission.REPLAY_DELIVERIES),
        job=job_card(request.GET.get("job", ""), tenant=view.tenant),
        limit=DELIVERY_PAGE,
        **extra,
    )
    return render(request, "console/webhooks/index.html", context, status=status)


class WebhookEndpointView(TenantOperatorView):
    """POST /console/tenants/<slug>/webhooks/<endpoint>: disable, enable, or rotate the secret (shown once)."""

    tab = "webhooks"
    permissions = {"POST": Permission.MANAGE_WEBHOOKS}

    def post(self, request: HttpRequest, slug: str, endpoint_id: uuid.UUID) -> HttpResponse:
        action = request.POST.get("action", "")
        actor = self.audit_actor()
        try:
            if action in {"disable", "enable"}:
                services.set_webhook_endpoint_active(tenant=self.tenant, endpoint_id=endpoint_id, active=action == "enable", actor=actor)
                return redirect("console:tenant-webhooks", slug=self.tenant.slug)
            if action == "rotate":
                secret = services.rotate_webhook_secret(tenant=self.tenant, endpoint_id=endpoint_id, actor=actor)
                endpoint = WebhookEndpoint.objects.get(pk=endpoint_id)
                return webhooks_page(self, request, secret=secret, secret_for=endpoint, rotated=True)
        except services.ActionError:
            raise Http404("no such endpoint") from None
        return HttpResponse("Unknown action.", status=400)


class BulkReplayView(TenantOperatorView):
    """POST /console/tenants/<slug>/webhooks/replay: replay an endpoint's deliveries in a seq or time range (a job)."""

    tab = "webhooks"
    permissions = {"POST": Permission.REPLAY_DELIVERIES}

    def post(self, request: HttpRequest, slug: str) -> HttpResponse:
        endpoints = list(WebhookEndpoint.objects.order_by("created_at"))
        form = BulkReplayForm(request.POST, endpoints=endpoints)
        if form.is_valid():
            data = form.cleaned_data
            try:
                job = services.request_bulk_replay(
                    tenant=self.tenant,
                    endpoint_id=data["endpoint"],
                    actor=self.audit_actor(),
                    seq_from=data["seq_from"],
                    seq_to=data["seq_to"],
                    since=data["since"],
                    until=data["until"],
                    dead_only=data["dead_only"],
                    reason=data["reason"],
                )
            except JobError as exc:
                form.add_error(None, str(exc))
            else:
                return redirect(reverse("console:tenant-webhooks", args=[self.tenant.slug]) + f"?job={job.pk}#replay")
        return webhooks_page(self, request, replay_form=form, status=400)


class DeliveryView(TenantOperatorView):
    """/console/tenants/<slug>/webhooks/deliveries/<id>: one delivery's attempts; POST replays it now."""

    tab = "webhooks"
    permissions = {"GET": Permission.VIEW, "HEAD": Permission.VIEW, "POST": Permission.REPLAY_DELIVERIES}

    def delivery(self, delivery_id: int) -> WebhookDelivery:
        delivery = WebhookDelivery.objects.select_related("endpoint").filter(pk=delivery_id).first()
        if delivery is None:
            raise Http404("no such delivery")
        return delivery

    def get(self, request: HttpRequest, slug: str, delivery_id: int, **extra: Any) -> HttpResponse:
        delivery = self.delivery(delivery_id)
        attempts = list(WebhookAttempt.objects.filter(delivery=delivery).order_by("-attempted_at", "-id")[:100])
        context = self.tenant_context(
            delivery=delivery,
            attempts=attempts,
            tone=STATUS_TONES.get(delivery.status, ""),
            last_error=_error(delivery.last_error, delivery.last_status_code),
            can_replay=self.can(Permission.REPLAY_DELIVERIES),
            form=extra.pop("form", None) or ReplayForm(),
            **extra,
        )
        return render(request, "console/webhooks/delivery.html", context, status=400 if context["form"].errors else 200)

    def post(self, request: HttpRequest, slug: str, delivery_id: int) -> HttpResponse:
        form = ReplayForm(request.POST)
        if not form.is_valid():
            return self.get(request, slug, delivery_id, form=form)
        try:
            services.replay_delivery(tenant=self.tenant, delivery_id=delivery_id, actor=self.audit_actor(), reason=form.cleaned_data["reason"])
        except services.ActionError:
            raise Http404("no such delivery") from None
        return redirect(reverse("console:tenant-delivery", args=[self.tenant.slug, delivery_id]) + "?replayed=1")


# --------------------------------------------------------------------------- Events API keys


class ApiKeyForm(forms.Form):
    label = forms.CharField(label="Label", max_length=200, widget=forms.TextInput(attrs={"class": "input", "placeholder": "e.g. production consumer"}))


class RevokeKeyForm(forms.Form):
    key_id = forms.CharField(max_length=24, widget=forms.HiddenInput)
    reason = forms.CharField(label="Reason", max_length=500, widget=forms.TextInput(attrs={"class": "input"}))


class ApiKeysView(TenantOperatorView):
    """/console/tenants/<slug>/api-keys: the tenant's Events API keys; POST issues (shown once) or revokes."""

    tab = "apikeys"
    permissions = {"GET": Permission.VIEW, "HEAD": Permission.VIEW, "POST": Permission.MANAGE_API_KEYS}

    def get(self, request: HttpRequest, slug: str) -> HttpResponse:
        return self.page(request)

    def post(self, request: HttpRequest, slug: str) -> HttpResponse:
        if request.POST.get("action") == "revoke":
            revoke = RevokeKeyForm(request.POST)
            if not revoke.is_valid():
                return self.page(request, revoke_form=revoke, status=400)
            try:
                tenant_services.revoke_api_key(
                    tenant=self.tenant, key_id=revoke.cleaned_data["key_id"], actor=self.audit_actor(), reason=revoke.cleaned_data["reason"]
                )
            except tenant_services.TenantError:
                raise Http404("no such key") from None
            return redirect("console:tenant-apikeys", slug=self.tenant.slug)
        form = ApiKeyForm(request.POST)
        if not form.is_valid():
            return self.page(request, form=form, status=400)
        key = tenant_services.create_api_key(tenant=self.tenant, label=form.cleaned_data["label"], actor=self.audit_actor())
        return self.page(request, new_key=key, new_label=form.cleaned_data["label"])

    def page(self, request: HttpRequest, *, status: int = 200, **extra: Any) -> HttpResponse:
        context = self.tenant_context(
            keys=list(ApiKey.objects.filter(tenant=self.tenant).order_by("revoked_at", "-created_at")),
            form=extra.pop("form", None) or ApiKeyForm(),
            revoke_form=extra.pop("revoke_form", None),
            can_manage=self.can(Permission.MANAGE_API_KEYS),
            **extra,
        )
        return render(request, "console/apikeys/index.html", context, status=status)
