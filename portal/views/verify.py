"""Wizard step 7 (verify with a test user) and step 8 (done).

The checklist is an htmx partial of the verify view itself, polled every 2 s until every row is
ticked (then 286 stops the polling and the connection is recorded as verified), or until the page
has waited PAUSE_AFTER. "Skip, verify later" moves on with the connection marked "not verified".
"""

from __future__ import annotations

import time
from datetime import UTC, datetime

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone

from directory.attribute_mappings import mapped_fields
from directory.roles import current_group_mappings, roles_by_precedence, seat_counts
from portal.verification import verification
from portal.views.wizard import POLL_DONE, WizardView
from scim.idp import get_profile
from tenants import wizard
from tenants.connections import active_tokens
from tenants.wizard import Step, WizardError

PAUSE_AFTER = 20 * 60


def _since(raw: str | None) -> float:
    try:
        value = float(raw or "")
    except ValueError:
        return time.time()
    return min(max(value, time.time() - 24 * 3600), time.time())


class VerifyView(WizardView):
    step = Step.VERIFY
    template = "portal/wizard/verify.html"
    partial = "portal/wizard/_checklist.html"

    def get(self, request: HttpRequest, connection_id: str) -> HttpResponse:
        setup = self.get_setup(connection_id)
        if (early := self.reachable(setup)) is not None:
            return early
        profile = get_profile(setup.connection.idp)
        check = verification(connection_id=setup.connection_id, idp_name=profile.name, test_user_id=setup.test_user_id)
        if check.done:
            wizard.record_verified(setup=setup)
        since = _since(request.GET.get("since"))
        paused = not check.done and time.time() - since >= PAUSE_AFTER
        context = {
            "check": check,
            "since": int(since),
            "paused": paused,
            "poll_url": reverse("portal:wizard-verify", args=[setup.connection_id]),
        }
        if request.htmx:  # type: ignore[attr-defined]
            response = render(request, self.partial, {**context, "setup": setup, "profile": profile})
            if check.done or paused:
                response.status_code = POLL_DONE
            return response
        return self.page(request, setup, 200, **context)

    def post(self, request: HttpRequest, connection_id: str) -> HttpResponse:
        setup = self.get_setup(connection_id)
        if (early := self.reachable(setup)) is not None:
            return early
        action = request.POST.get("action", "")
        try:
            if action == "choose_user":
                profile = get_profile(setup.connection.idp)
                check = verification(connection_id=setup.connection_id, idp_name=profile.name, test_user_id="")
                wanted = request.POST.get("user", "")
                if wanted not in {str(c.pk) for c in check.candidates}:
                    return self.page(
                        request, setup, 400, check=check, since=int(time.time()), paused=False,
                        poll_url=reverse("portal:wizard-verify", args=[setup.connection_id]),
                        user_error="Choose one of this connection's users.",
                    )
                wizard.choose_test_user(setup=setup, user_id=wanted)
                return redirect("portal:wizard-verify", setup.connection_id)
            if action == "skip":
                wizard.skip_verification(setup=setup)
                return redirect("portal:wizard-done", setup.connection_id)
            if action == "continue":
                if setup.verified_at is None:
                    return redirect("portal:wizard-verify", setup.connection_id)
                return redirect("portal:wizard-done", setup.connection_id)
        except WizardError:
            return redirect("portal:setup")
        return redirect("portal:wizard-verify", setup.connection_id)


class DoneView(WizardView):
    """Step 8: the summary. Opening it completes the setup (and the setup link) for this connection."""

    step = Step.DONE
    template = "portal/wizard/done.html"

    def get(self, request: HttpRequest, connection_id: str) -> HttpResponse:
        setup = self.get_setup(connection_id)
        if (early := self.reachable(setup)) is not None:
            return early
        wizard.complete_setup(setup=setup, audit_actor=self.audit_actor())
        connection = setup.connection
        tokens = active_tokens(connection)
        newest = tokens[0] if tokens else None
        fields = mapped_fields(connection.idp)
        mappings = current_group_mappings()
        roles = {r.key: r for r in roles_by_precedence()}
        default = (self.tenant.settings or {}).get("default_role")
        return self.page(
            request,
            setup,
            token=newest,
            token_count=len(tokens),
            token_age=_age_days(newest.created_at) if newest else None,
            changed_fields=[f for f in fields if not f.is_default],
            custom_fields=[f for f in fields if f.custom],
            mapped_groups=len(mappings),
            default_role=roles.get(default) if default else None,
            seats=[s for s in seat_counts() if s.seats],
            verified=setup.verification_state,
        )


def _age_days(created: datetime) -> int:
    return max(0, (timezone.now() - created.astimezone(UTC)).days)
