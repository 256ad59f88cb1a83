"""Sign-in, TOTP enrolment, second-factor check and sign-out, shared by the portal and the console.

Each view takes its audience (`as_view(audience=Audience.CONSOLE)`): the same flow, the other
account kind, the other URLs. The password step leaves a short-lived, unverified session; only
a TOTP or recovery code makes it a verified one that the view bases accept.
"""

from __future__ import annotations

from typing import Any

import segno
from django.contrib import messages
from django.contrib.auth import login as auth_login
from django.contrib.auth import logout as auth_logout
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.http import url_has_allowed_host_and_scheme
from django.views import View
from django_otp import login as otp_login

from portal.forms import CodeForm, LoginForm, VerifyForm
from portal.views.base import ENROL_URLS, HOME_URLS, LOGIN_URLS, VERIFY_URLS, is_verified, signed_in_user
from tenants import accounts
from tenants.accounts import AccountError, Audience
from tenants.models import TenantAdmin
from tenants.ratelimit import Limited

NEXT_KEY = "rollcall_next"
PENDING_SECONDS = 10 * 60  # a password-only session lasts this long
BACKEND = "django.contrib.auth.backends.ModelBackend"


def client_ip(request: HttpRequest) -> str:
    return str(request.META.get("REMOTE_ADDR") or "")


def _safe_next(request: HttpRequest, candidate: str | None) -> str | None:
    if candidate and url_has_allowed_host_and_scheme(candidate, allowed_hosts={request.get_host()}):
        return candidate
    return None


def start_pending_session(request: HttpRequest, user: Any) -> None:
    """Signed in with a password only: short expiry until the second factor is checked."""
    auth_login(request, user, backend=BACKEND)
    request.session.set_expiry(PENDING_SECONDS)


def finish_verified_session(request: HttpRequest, device: Any) -> None:
    otp_login(request, device)
    request.session.cycle_key()  # a new session id once the session is fully trusted
    request.session.set_expiry(None)  # back to the configured session age


def scope_label(audience: Audience, user: Any) -> str:
    if audience is Audience.CONSOLE:
        return "Rollcall operator console"
    admin = TenantAdmin.objects.select_related("tenant").filter(user_id=user.pk).first()
    return admin.tenant.name if admin else "Rollcall"


class AudienceMixin:
    audience: Audience = Audience.PORTAL

    def context(self, **extra: Any) -> dict[str, Any]:
        return {"audience": self.audience.value, "is_console": self.audience is Audience.CONSOLE, **extra}


class LoginView(AudienceMixin, View):
    template = "accounts/login.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        nxt = _safe_next(request, request.GET.get("next"))
        if nxt:
            request.session[NEXT_KEY] = nxt
        return render(request, self.template, self.context(form=LoginForm()))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = LoginForm(request.POST)
        if not form.is_valid():
            return render(request, self.template, self.context(form=form), status=400)
        try:
            user = accounts.check_password(
                audience=self.audience,
                email=form.cleaned_data["email"],
                password=form.cleaned_data["password"],
                ip=client_ip(request),
            )
        except Limited as exc:
            form.add_error(None, exc.message)
            response = render(request, self.template, self.context(form=form), status=429)
            response["Retry-After"] = str(exc.retry_after)
            return response
        except AccountError as exc:
            form.add_error(None, exc.message)
            return render(request, self.template, self.context(form=form), status=400)
        nxt = request.session.get(NEXT_KEY)
        start_pending_session(request, user)
        if nxt:
            request.session[NEXT_KEY] = nxt
        target = VERIFY_URLS if accounts.has_confirmed_totp(user) else ENROL_URLS
        return redirect(target[self.audience])


class PendingUserMixin(AudienceMixin):
    """The password step is done (the user is authenticated) but the second factor is not."""

    def gate(self, request: HttpRequest) -> HttpResponse | None:
        user = request.user
        if not user.is_authenticated or not self.audience.admits(user):
            return redirect(LOGIN_URLS[self.audience])
        if is_verified(user):
            return redirect(HOME_URLS[self.audience])
        return None

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
        return self.gate(request) or super().dispatch(request, *args, **kwargs)  # type: ignore[misc]

    def after_login(self, request: HttpRequest) -> str:
        return _safe_next(request, request.session.pop(NEXT_KEY, None)) or reverse(HOME_URLS[self.audience])


class VerifyView(PendingUserMixin, View):
    template = "accounts/verify.html"

    def get(self, request: HttpRequest) -> HttpResponse:
        if not accounts.has_confirmed_totp(signed_in_user(request)):
            return redirect(ENROL_URLS[self.audience])
        return render(request, self.template, self.context(form=VerifyForm()))

    def post(self, request: HttpRequest) -> HttpResponse:
        form = VerifyForm(request.POST)
        if not form.is_valid():
            return render(request, self.template, self.context(form=form), status=400)
        try:
            verified = accounts.verify_second_factor(user=signed_in_user(request), code=form.cleaned_data["code"], ip=client_ip(request))
        except Limited as exc:
            form.add_error("code", exc.message)
            response = render(request, self.template, self.context(form=form), status=429)
            response["Retry-After"] = str(exc.retry_after)
            return response
        except AccountError as exc:
            form.add_error("code", exc.message)
            return render(request, self.template, self.context(form=form), status=400)
        finish_verified_session(request, verified.device)
        if verified.used_recovery_code:
            messages.warning(
                request,
                f"You signed in with a recovery code; {verified.recovery_codes_left} are left. "
                "Each code works once.",
            )
        return redirect(self.after_login(request))


class EnrolView(PendingUserMixin, View):
    template = "accounts/enrol.html"

    def _page(self, request: HttpRequest, form: CodeForm, status: int = 200) -> HttpResponse:
        enrolment = accounts.start_totp_enrolment(user=signed_in_user(request), label=scope_label(self.audience, signed_in_user(request)))
        qr = segno.make(enrolment.otpauth_url, error="m")
        svg = qr.svg_inline(scale=4, border=2, dark="#111111", light="#ffffff", omitsize=True)
        return render(
            request,
            self.template,
            self.context(form=form, manual_key=enrolment.manual_key, qr_svg=svg, scope=scope_label(self.audience, signed_in_user(request))),
            status=status,
        )

    def get(self, request: HttpRequest) -> HttpResponse:
        if accounts.has_confirmed_totp(signed_in_user(request)):
            return redirect(VERIFY_URLS[self.audience])
        return self._page(request, CodeForm())

    def post(self, request: HttpRequest) -> HttpResponse:
        if accounts.has_confirmed_totp(signed_in_user(request)):
            return redirect(VERIFY_URLS[self.audience])
        form = CodeForm(request.POST)
        if not form.is_valid():
            return self._page(request, form, status=400)
        try:
            device, codes = accounts.confirm_totp(user=signed_in_user(request), code=form.cleaned_data["code"], ip=client_ip(request))
        except Limited as exc:
            form.add_error("code", exc.message)
            return self._page(request, form, status=429)
        except AccountError as exc:
            form.add_error("code", exc.message)
            return self._page(request, form, status=400)
        finish_verified_session(request, device)
        # Shown in this response only: the codes exist nowhere else in clear (not in the session).
        return render(
            request,
            "accounts/recovery_codes.html",
            self.context(codes=codes, next_url=self.after_login(request), scope=scope_label(self.audience, signed_in_user(request))),
        )


class LogoutView(AudienceMixin, View):
    http_method_names = ["post"]

    def post(self, request: HttpRequest) -> HttpResponse:
        auth_logout(request)
        messages.success(request, "You are signed out.")
        return redirect(LOGIN_URLS[self.audience])


