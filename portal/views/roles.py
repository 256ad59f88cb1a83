"""Group-to-role mapping: wizard step 6 and the workspace's Roles page (same screen, same seat preview).

GET lists the groups received so far (keyset pages, search), each with a role drop-down, the default
role and the role order; the same GET with `preview=1` previews unsaved choices (htmx swaps only the
seat preview); `part=groups` is the live list's poll (new groups and member counts, out of band).
POST "save" applies the choices through directory.roles.apply_role_mappings (a change that takes
roles from many users needs the typed number first). "create_role" and "move_role" are forms of
their own that change the roles at once (create custom roles first, then choose them for groups).
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from django.contrib import messages
from django.http import Http404, HttpRequest, HttpResponse, QueryDict
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.text import slugify

from directory import roles
from directory.errors import InvalidValue, NotFound
from directory.listing import group_page, groups_changed_since
from portal.seats import seat_sentence
from portal.views.base import TenantPortalView
from portal.views.wizard import POLL_DONE, WizardView, stepper
from scim.idp import get_profile
from tenants import wizard
from tenants.models import ConnectionSetup, ScimConnection
from tenants.wizard import Step, WizardError

ROLE_PREFIX = "role."
LIVE_POLL_SECONDS = 5
LIVE_PAUSE_AFTER = 15 * 60  # a page left open this long stops polling


def proposed_group_roles(data: QueryDict) -> dict[str, str | None]:
    """`role.<group id>` fields -> {group id: role key or None}; malformed ids are ignored."""
    choices: dict[str, str | None] = {}
    for name in data:
        if not name.startswith(ROLE_PREFIX):
            continue
        try:
            group_id = str(uuid.UUID(name[len(ROLE_PREFIX) :]))
        except ValueError:
            continue
        choices[group_id] = data.get(name) or None
    return choices


def proposed_default(data: QueryDict, tenant_settings: Mapping[str, Any]) -> str | None:
    if "default_role" not in data:
        return tenant_settings.get("default_role")
    return data.get("default_role") or None


def _since(raw: str | None) -> datetime:
    try:
        return datetime.fromtimestamp(float(raw or ""), tz=UTC)
    except ValueError:
        return timezone.now()


class RolesScreen(TenantPortalView):
    template = "portal/roles/page.html"
    mode = "workspace"

    def connection_for(self, connection_id: str | None) -> tuple[ScimConnection | None, ConnectionSetup | None]:
        return None, None

    def base_url(self, connection: ScimConnection | None) -> str:
        return reverse("portal:roles")

    def screen(
        self,
        request: HttpRequest,
        connection: ScimConnection | None,
        setup: ConnectionSetup | None,
        *,
        data: QueryDict | None = None,
        status: int = 200,
        **extra: Any,
    ) -> HttpResponse:
        settings = self.tenant.settings or {}
        saved = roles.current_group_mappings()
        changes = proposed_group_roles(data) if data is not None else {}
        default = proposed_default(data, settings) if data is not None else settings.get("default_role")
        proposed = {**saved, **changes}
        try:
            preview = roles.preview_seats(proposed, default_role=default)
        except InvalidValue as exc:
            preview, extra["error"] = None, exc.message
        query = request.GET.get("q", "")
        groups = group_page(query, cursor=request.GET.get("cursor", ""))
        role_list = roles.roles_by_precedence()
        context = {
            "tenant": self.tenant,
            "connection": connection,
            "setup": setup,
            "profile": get_profile(connection.idp) if connection else None,
            "idp_name": get_profile(connection.idp).name if connection else "your identity provider",
            "groups": groups,
            "choices": {**{str(r.group.pk): r.role_key for r in groups.rows}, **changes},
            "roles": role_list,
            "default_role": default,
            "preview": preview,
            "sentence": seat_sentence(preview) if preview else "",
            "unsaved": any(saved.get(g) != r for g, r in changes.items()) or default != settings.get("default_role"),
            "query": query,
            "base_url": self.base_url(connection),
            "live_since": int(time.time()),
            "live_started": int(time.time()),
            "live": groups.first_page and not query,
            "mode": self.mode,
            **extra,
        }
        if request.htmx and request.GET.get("part") == "preview":  # type: ignore[attr-defined]
            return render(request, "portal/roles/_seats.html", context, status=status)
        return self.render_screen(request, setup, status, context)

    def render_screen(self, request: HttpRequest, setup: ConnectionSetup | None, status: int, context: dict[str, Any]) -> HttpResponse:
        return render(request, self.template, {"nav": "roles", "layout": "portal/layout.html", **context}, status=status)

    def get(self, request: HttpRequest, connection_id: str | None = None) -> HttpResponse:
        connection, setup = self.connection_for(connection_id)
        if request.GET.get("part") == "groups":
            return self.live_groups(request, connection)
        return self.screen(request, connection, setup, data=request.GET if request.GET.get("preview") else None)

    def live_groups(self, request: HttpRequest, connection: ScimConnection | None) -> HttpResponse:
        """New groups (appended) and changed member counts (swapped in place) since the last poll."""
        since = _since(request.GET.get("since"))
        started = _since(request.GET.get("started"))
        rows = groups_changed_since(since)
        now = int(time.time())
        newest = max((r.group.last_modified for r in rows), default=since)
        context = {
            "rows": rows,
            "new_rows": [r for r in rows if r.group.created > _since(request.GET.get("rendered"))],
            "roles": roles.roles_by_precedence(),
            "choices": {str(r.group.pk): r.role_key for r in rows},
            "base_url": self.base_url(connection),
            "live_since": int(newest.timestamp()) if rows else int(since.timestamp()),
            "live_started": int(started.timestamp()),
            "rendered": request.GET.get("rendered", ""),
            "paused": now - started.timestamp() >= LIVE_PAUSE_AFTER,
            "live": True,
            "empty": bool(request.GET.get("empty")),
        }
        if rows and request.GET.get("empty"):  # the first groups arrived: show the whole list
            refresh = HttpResponse(status=200)
            refresh["HX-Refresh"] = "true"
            return refresh
        response = render(request, "portal/roles/_live.html", context)
        if context["paused"]:
            response.status_code = POLL_DONE
        return response

    def post(self, request: HttpRequest, connection_id: str | None = None) -> HttpResponse:
        connection, setup = self.connection_for(connection_id)
        if (early := self.refuse_post(setup)) is not None:
            return early
        action = request.POST.get("action", "")
        if action == "create_role":
            return self.create_role(request, connection, setup)
        if action == "move_role":
            return self.move_role(request, connection, setup)
        if action != "save":
            return self.screen(request, connection, setup, data=request.POST, status=400, error="Unknown action.")
        return self.save(request, connection, setup)

    def refuse_post(self, setup: ConnectionSetup | None) -> HttpResponse | None:
        return None

    def save(self, request: HttpRequest, connection: ScimConnection | None, setup: ConnectionSetup | None) -> HttpResponse:
        changes = proposed_group_roles(request.POST)
        default = proposed_default(request.POST, self.tenant.settings or {})
        proposed = {**roles.current_group_mappings(), **changes}
        try:
            preview = roles.preview_seats(proposed, default_role=default)
        except InvalidValue as exc:
            return self.screen(request, connection, setup, data=request.POST, status=400, error=exc.message)
        if preview.needs_confirmation and request.POST.get("confirm", "").strip() != str(preview.users_losing_role):
            typed = bool(request.POST.get("confirm", "").strip())
            message = (
                "That is not the number of people losing their role." if typed else "Type the number to confirm."
            )
            return self.screen(
                request, connection, setup, data=request.POST, status=400, confirm_error=message, confirm_needed=True
            )
        try:
            done = roles.apply_role_mappings(tenant=self.tenant, group_roles=changes, default_role=default, actor=self.actor)
        except (NotFound, InvalidValue) as exc:
            return self.screen(request, connection, setup, data=request.POST, status=400, error=exc.message)
        return self.after_save(request, connection, setup, bool(done))

    def after_save(
        self, request: HttpRequest, connection: ScimConnection | None, setup: ConnectionSetup | None, changed: bool
    ) -> HttpResponse:
        if changed:
            messages.success(request, "Role mappings saved. Roles of the people affected are recomputed in the background.")
        else:
            messages.info(request, "Nothing changed.")
        return redirect(self.base_url(connection))

    def create_role(self, request: HttpRequest, connection: ScimConnection | None, setup: ConnectionSetup | None) -> HttpResponse:
        name = request.POST.get("role_name", "").strip()
        billable = request.POST.get("role_billable") == "on"
        key = slugify(name).replace("-", "_")[:63]
        errors: dict[str, str] = {}
        if not name:
            errors["role_name"] = "Name the role, for example “Billing manager”."
        else:
            try:
                role = roles.create_role(key=key or "r", name=name, billable=billable, actor=self.actor)
            except InvalidValue as exc:
                errors["role_name"] = (
                    "A role with that name already exists."
                    if "already exists" in exc.message
                    else "Use at least two letters or digits, starting with a letter."
                )
            else:
                messages.success(request, f"Role “{role.name}” created, at the bottom of the order. Move it up to give it precedence.")
                return redirect(self.base_url(connection))
        return self.screen(
            request, connection, setup, status=400, role_errors=errors, role_name=name, role_billable=billable
        )

    def move_role(self, request: HttpRequest, connection: ScimConnection | None, setup: ConnectionSetup | None) -> HttpResponse:
        key, _, direction = request.POST.get("move", "").partition(":")
        if direction not in {"up", "down"}:
            return self.screen(request, connection, setup, status=400, error="Choose a role to move up or down.")
        try:
            roles.move_role(key=key, direction=-1 if direction == "up" else 1, actor=self.actor)
        except (NotFound, InvalidValue) as exc:
            return self.screen(request, connection, setup, status=400, error=exc.message)
        messages.success(request, "Role order saved. Effective roles are recomputed in the background.")
        return redirect(self.base_url(connection))


class WorkspaceRolesView(RolesScreen):
    """/portal/roles: group-to-role mappings for the whole tenant, any time after setup."""


class WizardRolesView(RolesScreen, WizardView):
    """Step 6 of the wizard."""

    step = Step.ROLES
    mode = "wizard"

    def connection_for(self, connection_id: str | None) -> tuple[ScimConnection | None, ConnectionSetup | None]:
        if connection_id is None:
            raise Http404("no such connection")
        setup = self.get_setup(connection_id)
        return setup.connection, setup

    def base_url(self, connection: ScimConnection | None) -> str:
        assert connection is not None
        return reverse("portal:wizard-roles", args=[connection.id])

    def render_screen(self, request: HttpRequest, setup: ConnectionSetup | None, status: int, context: dict[str, Any]) -> HttpResponse:
        assert setup is not None
        if (early := self.reachable(setup)) is not None:
            return early
        context = {**context, "steps": stepper(setup, self.step), "nav": "setup", "layout": "portal/wizard/layout.html"}
        return render(request, self.template, context, status=status)

    def refuse_post(self, setup: ConnectionSetup | None) -> HttpResponse | None:
        assert setup is not None
        return self.reachable(setup)

    def after_save(
        self, request: HttpRequest, connection: ScimConnection | None, setup: ConnectionSetup | None, changed: bool
    ) -> HttpResponse:
        assert setup is not None and connection is not None
        try:
            wizard.complete_roles(setup=setup)
        except WizardError:
            return redirect("portal:setup")
        return redirect("portal:wizard-verify", connection.id)
