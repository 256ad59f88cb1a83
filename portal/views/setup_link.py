"""/setup/<secret>: the landing page of a setup or invite link, and the admin account it creates."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views import View

from portal.forms import AccountForm
from portal.views.auth import start_pending_session
from tenants import accounts
from tenants.accounts import AccountError, LinkProblem, SetupLinkInvalid
from tenants.models import SetupLink

PROBLEM_PAGES = {
    LinkProblem.UNKNOWN: (
        "This link does not work",
        "The address may be incomplete: copy the whole link from the message you received. If it still "
        "does not work, ask your Rollcall contact for a new setup link.",
    ),
    LinkProblem.EXPIRED: (
        "This setup link has expired",
        "Setup links work for 7 days. Ask your Rollcall contact to send you a new one; "
        "nothing was set up with this link.",
    ),
    LinkProblem.USED: (
        "This link was already used",
        "A setup link creates one admin account, and this one has been created. If it was you, sign in. "
        "If not, tell your Rollcall contact right away.",
    ),
    LinkProblem.REVOKED: (
        "This link was replaced",
        "A newer setup link was issued, or this one was withdrawn. Use the newest link you received, "
        "or ask your Rollcall contact for one.",
    ),
}


def _problem(request: HttpRequest, exc: SetupLinkInvalid) -> HttpResponse:
    title, text = PROBLEM_PAGES[exc.problem]
    # 200 rather than 404/410: Django logs 4xx paths, and this path holds the link's secret.
    return render(
        request,
        "accounts/link_problem.html",
        {"title": title, "text": text, "problem": exc.problem.value, "tenant_name": exc.tenant_name},
    )


class SetupLinkView(View):
    template = "accounts/setup_landing.html"

    def _page(self, request: HttpRequest, link: SetupLink, form: AccountForm, status: int = 200) -> HttpResponse:
        invited = link.purpose == SetupLink.Purpose.INVITE
        return render(
            request,
            self.template,
            {"link": link, "tenant": link.tenant, "form": form, "invited": invited},
            status=status,
        )

    def get(self, request: HttpRequest, secret: str) -> HttpResponse:
        try:
            link = accounts.open_setup_link(secret=secret)
        except SetupLinkInvalid as exc:
            return _problem(request, exc)
        initial = {"email": link.email} if link.email else {}
        return self._page(request, link, AccountForm(initial=initial))

    def post(self, request: HttpRequest, secret: str) -> HttpResponse:
        try:
            link = accounts.open_setup_link(secret=secret)
        except SetupLinkInvalid as exc:
            return _problem(request, exc)
        data = request.POST.copy()
        if link.email:
            data["email"] = link.email
        form = AccountForm(data)
        if not form.is_valid():
            return self._page(request, link, form, status=400)
        try:
            admin = accounts.create_account_from_link(
                secret=secret,
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                password_again=form.cleaned_data["password_again"],
            )
        except SetupLinkInvalid as exc:
            return _problem(request, exc)
        except AccountError as exc:
            form.add_error(exc.field or None, exc.message)
            return self._page(request, link, form, status=400)
        start_pending_session(request, admin.user)
        return redirect("portal:enrol")
