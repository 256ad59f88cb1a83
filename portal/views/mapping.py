"""Attribute mapping: wizard step 5 and the workspace's Mappings page (the same screen, the same preview).

GET renders the table of app fields with the current choices; the same GET with `map.<field>`
parameters previews unsaved choices (htmx swaps only the preview). POST "add_field" adds a custom
field to the unsaved choices; POST "save" saves them through set_attribute_mapping and starts the
re-mapping of existing users in the worker, whose progress the page then polls.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse

from console.job_runners import JobKind
from directory.attribute_mappings import (
    MappedField,
    MappingPreview,
    effective_mapping,
    mapped_fields,
    preview_attribute_mapping,
)
from directory.errors import InvalidValue
from directory.mapping import CUSTOM_FIELD_PREFIX, app_field, custom_field, custom_field_key
from portal import jobs
from portal.mapping_preview import path_options, payload_previews
from portal.views.base import TenantPortalView
from portal.views.wizard import POLL_DONE, WizardView, stepper
from scim.idp import get_profile
from scim.paths import is_kept
from tenants import wizard
from tenants.connections import ConnectionNotFound, connection_of, connections_of
from tenants.models import ConnectionSetup, ScimConnection
from tenants.wizard import Step, WizardError

FIELD_PREFIX = "map."
NOT_KEPT = "Rollcall does not keep this extension's attributes, so it would always be empty. Choose a core or enterprise attribute."


def proposed_choices(data: QueryDict, fields: list[MappedField]) -> dict[str, str]:
    """The choices in a submitted form: `map.<key>` for every known field and custom field it names."""
    known = {f.key for f in fields}
    choices: dict[str, str] = {}
    for name in data:
        if not name.startswith(FIELD_PREFIX):
            continue
        key = name[len(FIELD_PREFIX) :]
        if key in known or (key.startswith(CUSTOM_FIELD_PREFIX) and app_field(key) is not None):
            choices[key] = data.get(name, "").strip()
    return choices


def with_unsaved_fields(fields: list[MappedField], choices: Mapping[str, str]) -> list[MappedField]:
    """The table's rows: the saved fields, plus custom fields only the unsaved choices name."""
    rows = list(fields)
    known = {f.key for f in fields}
    for key, path in choices.items():
        if key not in known and key.startswith(CUSTOM_FIELD_PREFIX):
            rows.append(MappedField(custom_field(key), path, ""))
    return rows


def _impact_summary(impact: MappingPreview | None) -> str:
    """"3 of 120 stored users change" (about, beyond the exactly compared sample); "" when none do."""
    if impact is None or not impact.changes or not impact.users_changing:
        return ""
    count = impact.users_changing if impact.exact else impact.estimated_users_changing
    about = "" if impact.exact else "about "
    return f"{about}{count:,} of {impact.users_total:,} stored users change"


class MappingScreen(TenantPortalView):
    """What the wizard step and the workspace page share; `connection_for` and `done_url` differ."""

    template = "portal/mapping/page.html"
    partial = "portal/mapping/_preview.html"
    mode = "workspace"

    def connection_for(self, connection_id: str) -> tuple[ScimConnection, ConnectionSetup | None]:
        raise NotImplementedError

    def screen(
        self,
        request: HttpRequest,
        connection: ScimConnection,
        setup: ConnectionSetup | None,
        *,
        choices: Mapping[str, str] | None = None,
        status: int = 200,
        **extra: Any,
    ) -> HttpResponse:
        profile = get_profile(connection.idp)
        saved = mapped_fields(connection.idp)
        current = effective_mapping(connection.idp)
        proposed = {**current, **(choices or {})}
        rows = with_unsaved_fields(saved, choices or {})
        rows = [MappedField(r.field, proposed.get(r.key, r.path), r.default) for r in rows]
        errors: dict[str, str] = extra.pop("errors", {})
        try:
            impact = preview_attribute_mapping(idp=connection.idp, mapping=choices or {})
        except InvalidValue:
            impact = None
        context = {
            "tenant": self.tenant,
            "connection": connection,
            "setup": setup,
            "profile": profile,
            "rows": rows,
            "errors": errors,
            "option_groups": path_options(connection.id, profile.name, rows),
            "previews": payload_previews(connection.id, current=current, proposed=proposed, fields=rows),
            "impact": impact,
            "impact_summary": _impact_summary(impact),
            "connections": connections_of(self.tenant) if self.mode == "workspace" else [],
            "unsaved": bool(choices) and any(current.get(k, "") != v for k, v in (choices or {}).items()),
            "mode": self.mode,
            "form_url": request.path,
            "job": jobs.job_view(self.tenant, request.GET.get("job", ""), kinds=(JobKind.REMAP_USERS,)),
            **extra,
        }
        if request.htmx and request.GET.get("part") == "preview":  # type: ignore[attr-defined]
            return render(request, self.partial, context, status=status)
        return self.render_screen(request, setup, status, context)

    def render_screen(self, request: HttpRequest, setup: ConnectionSetup | None, status: int, context: dict[str, Any]) -> HttpResponse:
        return render(request, self.template, {"nav": "mappings", "layout": "portal/layout.html", **context}, status=status)

    def done_url(self, connection: ScimConnection) -> str:
        return reverse("portal:mapping", args=[connection.id])

    def get(self, request: HttpRequest, connection_id: str) -> HttpResponse:
        connection, setup = self.connection_for(connection_id)
        if request.GET.get("part") == "job":
            return self.job_panel(request, connection)
        choices = proposed_choices(request.GET, mapped_fields(connection.idp)) if request.GET.get("preview") else None
        return self.screen(request, connection, setup, choices=choices)

    def job_panel(self, request: HttpRequest, connection: ScimConnection) -> HttpResponse:
        job = jobs.job_view(self.tenant, request.GET.get("job", ""), kinds=(JobKind.REMAP_USERS,))
        if job is None:
            raise Http404("no such job")
        response = render(request, "portal/_job.html", {"job": job, "poll_url": request.path})
        if job.finished:
            response.status_code = POLL_DONE
        return response

    def refuse_post(self, setup: ConnectionSetup | None) -> HttpResponse | None:
        return None

    def post(self, request: HttpRequest, connection_id: str) -> HttpResponse:
        connection, setup = self.connection_for(connection_id)
        if (early := self.refuse_post(setup)) is not None:
            return early
        fields = mapped_fields(connection.idp)
        choices = proposed_choices(request.POST, fields)
        action = request.POST.get("action", "")
        if action == "add_field":
            return self.add_field(request, connection, setup, choices)
        if action != "save":
            return self.screen(request, connection, setup, choices=choices, status=400, error="Unknown action.")
        current = effective_mapping(connection.idp)
        changed = {k: v for k, v in choices.items() if current.get(k, "") != v}
        unkept = {k: NOT_KEPT for k, v in changed.items() if v and not is_kept(v)}
        if unkept:
            return self.screen(request, connection, setup, choices=choices, status=400, errors=unkept)
        job_id = ""
        try:
            if changed:
                _, job_id = jobs.save_mapping_and_remap(
                    tenant=self.tenant, idp=connection.idp, mapping=changed, actor=self.actor, audit=self.audit_actor()
                )
        except InvalidValue as exc:
            return self.screen(request, connection, setup, choices=choices, status=400, errors={exc.field: exc.message})
        return self.after_save(request, connection, setup, job_id=job_id, changed=bool(changed))

    def after_save(
        self, request: HttpRequest, connection: ScimConnection, setup: ConnectionSetup | None, *, job_id: str, changed: bool
    ) -> HttpResponse:
        url = self.done_url(connection)
        return redirect(f"{url}?job={job_id}" if job_id else f"{url}?saved=1")

    def add_field(
        self, request: HttpRequest, connection: ScimConnection, setup: ConnectionSetup | None, choices: dict[str, str]
    ) -> HttpResponse:
        label = request.POST.get("new_field_label", "")
        path = request.POST.get("new_field_path", "").strip()
        errors: dict[str, str] = {}
        try:
            key = custom_field_key(label)
        except ValueError as exc:
            errors["new_field_label"] = "Name the field." if not label.strip() else str(exc)
            key = ""
        if key and (key in choices or key in {f.key for f in mapped_fields(connection.idp)}):
            errors["new_field_label"] = f"There is already a field called {custom_field(key).label}."
        if not path:
            errors["new_field_path"] = "Choose the SCIM attribute that fills it."
        elif not is_kept(path):
            errors["new_field_path"] = NOT_KEPT
        if errors:
            return self.screen(
                request, connection, setup, choices=choices, status=400, errors=errors,
                new_field_label=label, new_field_path=path,
            )
        return self.screen(request, connection, setup, choices={**choices, key: path}, added=custom_field(key).label)


class WorkspaceMappingView(MappingScreen):
    """/portal/connections/<id>/mapping: edit the mapping any time after setup."""

    def connection_for(self, connection_id: str) -> tuple[ScimConnection, ConnectionSetup | None]:
        try:
            connection = connection_of(self.tenant, connection_id)
        except ConnectionNotFound:
            raise Http404("no such connection") from None
        return connection, ConnectionSetup.objects.filter(connection=connection).first()


class MappingsIndexView(TenantPortalView):
    """/portal/mappings: the first connection's mapping (each connection's IdP has its own defaults)."""

    def get(self, request: HttpRequest) -> HttpResponse:
        first = ScimConnection.objects.filter(tenant=self.tenant).order_by("created_at", "id").first()
        if first is None:
            return redirect("portal:wizard-new")
        return redirect("portal:mapping", first.id)


class WizardMappingView(MappingScreen, WizardView):
    """Step 5 of the wizard."""

    step = Step.MAPPING
    template = "portal/mapping/page.html"
    mode = "wizard"

    def connection_for(self, connection_id: str) -> tuple[ScimConnection, ConnectionSetup | None]:
        setup = self.get_setup(connection_id)
        return setup.connection, setup

    def render_screen(self, request: HttpRequest, setup: ConnectionSetup | None, status: int, context: dict[str, Any]) -> HttpResponse:
        if setup is not None and (early := self.reachable(setup)) is not None:
            return early
        context = {**context, "steps": stepper(setup, self.step), "nav": "setup", "layout": "portal/wizard/layout.html"}
        return render(request, self.template, context, status=status)

    def done_url(self, connection: ScimConnection) -> str:
        return reverse("portal:wizard-mapping", args=[connection.id])

    def refuse_post(self, setup: ConnectionSetup | None) -> HttpResponse | None:
        assert setup is not None
        return self.reachable(setup)

    def after_save(
        self, request: HttpRequest, connection: ScimConnection, setup: ConnectionSetup | None, *, job_id: str, changed: bool
    ) -> HttpResponse:
        assert setup is not None
        try:
            wizard.complete_mapping(setup=setup)
        except WizardError:
            return redirect(reverse("portal:setup"))
        if not job_id:  # nothing to re-map: straight on to roles
            return redirect("portal:wizard-roles", connection.id)
        return super().after_save(request, connection, setup, job_id=job_id, changed=changed)
