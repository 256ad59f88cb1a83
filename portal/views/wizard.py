"""The setup wizard: 1 choose the IdP, 2 its steps, 3 credentials, 4 live check, then (portal.views.mapping,
portal.views.roles, portal.views.verify) 5 attributes, 6 roles, 7 test user, and 8 done (here).

Every view is a TenantPortalView: the connection id in the URL is looked up within the
signed-in admin's tenant only (another tenant's id is a 404). The state lives in
tenants.models.ConnectionSetup, so any step can be reopened and the wizard resumes where it was.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from portal.live_check import live_check
from portal.views.base import TenantPortalView, signed_in_user
from scim.idp import get_profile
from scim.idp.base import IdpProfile
from tenants import wizard
from tenants.connections import OVERLAP_CHOICES
from tenants.models import ConnectionSetup
from tenants.services import scim_base_url
from tenants.setup import setup_instructions
from tenants.wizard import Step, WizardError

TOKEN_LATER = "Generated in step 3"
POLL_DONE = 286  # htmx stops polling on this status


@dataclass(frozen=True)
class WizardStep:
    key: str
    label: str
    url_name: str  # "" for steps that are not built yet


STEPS: tuple[WizardStep, ...] = (
    WizardStep(Step.IDP, "Provider", "portal:wizard-idp"),
    WizardStep(Step.INSTRUCTIONS, "Set up the app", "portal:wizard-instructions"),
    WizardStep(Step.CREDENTIALS, "Credentials", "portal:wizard-credentials"),
    WizardStep(Step.LIVE_CHECK, "Live check", "portal:wizard-live"),
    WizardStep(Step.MAPPING, "Attributes", "portal:wizard-mapping"),
    WizardStep(Step.ROLES, "Roles", "portal:wizard-roles"),
    WizardStep(Step.VERIFY, "Test user", "portal:wizard-verify"),
    WizardStep(Step.DONE, "Done", "portal:wizard-done"),
)
LAST_BUILT = Step.DONE


@dataclass(frozen=True)
class StepView:
    label: str
    state: str  # done | current | upcoming | locked
    url: str


def stepper(setup: ConnectionSetup | None, current: str) -> list[StepView]:
    furthest = wizard.step_index(setup.step) if setup else 0
    viewing = wizard.step_index(current)
    items = []
    for index, step in enumerate(STEPS):
        url = ""
        if step.url_name and setup is not None and index <= furthest:
            url = reverse(step.url_name, args=[setup.connection_id])
        if index == viewing:
            state = "current"
        elif index < furthest or (index == furthest and index < viewing):
            state = "done"
        elif index == furthest and url:
            state = "upcoming"
        else:
            state = "locked"
        items.append(StepView(step.label, state, url))
    return items


def resume_url(setup: ConnectionSetup) -> str:
    """Where the admin continues: the furthest step reached that is built."""
    step = setup.step if wizard.step_index(setup.step) <= wizard.step_index(LAST_BUILT) else LAST_BUILT
    name = next(s.url_name for s in STEPS if s.key == step)
    return reverse(name, args=[setup.connection_id])


class WizardView(TenantPortalView):
    step: str = Step.IDP
    template = ""

    def get_setup(self, connection_id: str) -> ConnectionSetup:
        try:
            setup = wizard.setup_for(self.tenant, connection_id)
        except ConnectionSetup.DoesNotExist:
            raise Http404("no such connection") from None
        return setup

    def page(self, request: HttpRequest, setup: ConnectionSetup | None, status: int = 200, **extra: object) -> HttpResponse:
        profile = get_profile(setup.connection.idp) if setup else None
        context = {
            "tenant": self.tenant,
            "setup": setup,
            "connection": setup.connection if setup else None,
            "profile": profile,
            "steps": stepper(setup, self.step),
            "nav": "setup",
            **extra,
        }
        return render(request, self.template, context, status=status)

    def reachable(self, setup: ConnectionSetup) -> HttpResponse | None:
        """Steps beyond the furthest one reached redirect to where the admin should be."""
        if not wizard.reached(setup, self.step):
            return redirect(resume_url(setup))
        return None


class SetupStartView(TenantPortalView):
    """/portal/setup/: continue the first unfinished connection, or start one."""

    def get(self, request: HttpRequest) -> HttpResponse:
        setups = wizard.setups_for(self.tenant)
        unfinished = [s for s in setups if s.completed_at is None]
        if not unfinished:
            return redirect("portal:wizard-new")
        return redirect(resume_url(unfinished[0]))


class ChooseIdpView(WizardView):
    step = Step.IDP
    template = "portal/wizard/idp.html"

    def _page(self, request: HttpRequest, setup: ConnectionSetup | None, status: int = 200, **extra: Any) -> HttpResponse:
        return self.page(request, setup, status, profiles=wizard.profiles(), **extra)

    def get(self, request: HttpRequest, connection_id: str | None = None) -> HttpResponse:
        setup = self.get_setup(connection_id) if connection_id else None
        return self._page(request, setup, selected=setup.connection.idp if setup else "")

    def post(self, request: HttpRequest, connection_id: str | None = None) -> HttpResponse:
        setup = self.get_setup(connection_id) if connection_id else None
        idp = request.POST.get("idp", "")
        try:
            if setup is None:
                setup = wizard.start_setup(
                    tenant=self.tenant, idp=idp, actor=signed_in_user(request), audit_actor=self.audit_actor()
                )
            elif wizard.needs_confirmation_to_change(setup, idp) and request.POST.get("confirm") != "yes":
                target = get_profile(idp)
                fields = (("idp", target.key), ("confirm", "yes"))
                return self._page(request, setup, selected=idp, confirm_change=target, confirm_fields=fields)
            else:
                wizard.change_idp(setup=setup, idp=idp, audit_actor=self.audit_actor())
        except WizardError as exc:
            return self._page(request, setup, status=400, selected=idp, error=exc.message)
        return redirect("portal:wizard-instructions", setup.connection_id)


class InstructionsView(WizardView):
    step = Step.INSTRUCTIONS
    template = "portal/wizard/instructions.html"

    def get(self, request: HttpRequest, connection_id: str) -> HttpResponse:
        setup = self.get_setup(connection_id)
        steps = [
            {
                "title": step.title,
                "body": step.body,
                "fields": [
                    {
                        "label": f.label,
                        "value": f.value,
                        "dom_id": f"step{n}-field{m}",
                        "multiline": "\n" in f.value,
                        "wrap": "\n" not in f.value,
                        "later": f.value == TOKEN_LATER,
                    }
                    for m, f in enumerate(step.fields, start=1)
                ],
            }
            for n, step in enumerate(setup_instructions(setup.connection, token_placeholder=TOKEN_LATER), start=1)
        ]
        return self.reachable(setup) or self.page(request, setup, idp_steps=steps)

    def post(self, request: HttpRequest, connection_id: str) -> HttpResponse:
        setup = self.get_setup(connection_id)
        wizard.complete_instructions(setup=setup)
        return redirect("portal:wizard-credentials", setup.connection_id)


def _credentials_context(setup: ConnectionSetup, profile: IdpProfile) -> dict[str, Any]:
    url_label, token_label = profile.credential_labels()
    return {
        "base_url": profile.scim_base_url_for_idp(scim_base_url(setup.connection)),
        "url_label": url_label,
        "token_label": token_label,
        "tokens": wizard.active_tokens(setup.connection),
        "overlaps": OVERLAP_CHOICES,
    }


class CredentialsView(WizardView):
    step = Step.CREDENTIALS
    template = "portal/wizard/credentials.html"

    def get(self, request: HttpRequest, connection_id: str) -> HttpResponse:
        setup = self.get_setup(connection_id)
        profile = get_profile(setup.connection.idp)
        return self.reachable(setup) or self.page(request, setup, **_credentials_context(setup, profile))

    def post(self, request: HttpRequest, connection_id: str) -> HttpResponse:
        setup = self.get_setup(connection_id)
        if (early := self.reachable(setup)) is not None:
            return early
        profile = get_profile(setup.connection.idp)
        action = request.POST.get("action", "")
        try:
            if action == "generate":
                issued = wizard.generate_token(setup=setup, actor=self.audit_actor(), overlap=request.POST.get("overlap"))
                # The token exists in clear only in this response.
                context = _credentials_context(setup, profile)
                return self.page(request, setup, new_token=issued.token, **context)
            if action == "pasted":
                wizard.confirm_token_pasted(setup=setup, pasted=request.POST.get("pasted") == "on")
                return redirect("portal:wizard-live", setup.connection_id)
        except WizardError as exc:
            context = _credentials_context(setup, profile)
            return self.page(request, setup, status=400, error=exc.message, error_field=exc.field, **context)
        return self.page(request, setup, status=400, error="Unknown action.", **_credentials_context(setup, profile))


class LiveCheckView(WizardView):
    """Step 4. The panel is an htmx partial of this same view, polled every 2 s until done."""

    step = Step.LIVE_CHECK
    template = "portal/wizard/live.html"
    partial = "portal/wizard/_live_panel.html"

    def get(self, request: HttpRequest, connection_id: str) -> HttpResponse:
        setup = self.get_setup(connection_id)
        if (early := self.reachable(setup)) is not None:
            return early
        since = _since(request.GET.get("since"))
        check = live_check(setup=setup, waiting_since=since)
        profile = get_profile(setup.connection.idp)
        url_label, token_label = profile.credential_labels()
        context = {
            "check": check,
            "since": int(since.timestamp()),
            "poll_url": reverse("portal:wizard-live", args=[setup.connection_id]),
            "url_label": url_label,
            "token_label": token_label,
            "tenant": self.tenant,
            "setup": setup,
            "profile": profile,
        }
        if request.htmx:  # type: ignore[attr-defined]
            response = render(request, self.partial, context)
            if check.stop_polling:
                response.status_code = POLL_DONE
            return response
        for shared in ("tenant", "setup", "profile"):
            context.pop(shared)
        return self.page(request, setup, 200, **context)


def _since(raw: str | None) -> datetime:
    """When this page started waiting (kept in the poll URL); now for a fresh page or bad input."""
    now = time.time()
    try:
        value = float(raw) if raw else now
    except ValueError:
        value = now
    value = min(max(value, now - 24 * 3600), now)
    return datetime.fromtimestamp(value, tz=UTC) if raw else timezone.now()
