"""Console Operators page (admins only): list, add (one-time password; TOTP at first sign-in), change role, remove."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal.views.base import OperatorView, Permission
from tenants import operators
from tenants.models import Operator
from tenants.services import TenantError

ROLE_CHOICES = [(Operator.Role.SUPPORT, "Support (read, setup links, replays)"), (Operator.Role.ADMIN, "Admin (everything)")]


class AddOperatorForm(forms.Form):
    email = forms.EmailField(label="Email", max_length=254)
    role = forms.ChoiceField(label="Role", choices=ROLE_CHOICES, initial=Operator.Role.SUPPORT)


class RoleForm(forms.Form):
    operator = forms.IntegerField(widget=forms.HiddenInput)
    role = forms.ChoiceField(label="Role", choices=Operator.Role.choices)


class OperatorsView(OperatorView):
    permissions = {"GET": Permission.MANAGE_OPERATORS, "HEAD": Permission.MANAGE_OPERATORS, "POST": Permission.MANAGE_OPERATORS}

    def _render(self, *, status: int = 200, add_form: AddOperatorForm | None = None, **extra: Any) -> HttpResponse:
        context = {
            "operator": self.operator,
            "nav": "operators",
            "rows": [(a, f"remove-{a.id}", [("action", "remove"), ("operator", a.id)]) for a in operators.operator_accounts()],
            "add_form": add_form or AddOperatorForm(prefix="add"),
            "roles": Operator.Role.choices,
            **extra,
        }
        return render(self.request, "console/operators/list.html", context, status=status)

    def get(self, request: HttpRequest) -> HttpResponse:
        return self._render()

    def post(self, request: HttpRequest) -> HttpResponse:
        action = request.POST.get("action")
        actor = self.audit_actor()
        if action == "add":
            form = AddOperatorForm(request.POST, prefix="add")
            if not form.is_valid():
                return self._render(status=400, add_form=form)
            try:
                credentials = operators.add_operator(email=form.cleaned_data["email"], role=form.cleaned_data["role"], actor=actor)
            except TenantError as exc:
                form.add_error("email", str(exc))
                return self._render(status=400, add_form=form)
            return self._render(created=credentials)
        try:
            if action == "role":
                role_form = RoleForm(request.POST)
                if not role_form.is_valid():
                    return self._render(status=400, error="Choose a role.")
                changed = operators.change_operator_role(
                    operator_id=role_form.cleaned_data["operator"], role=role_form.cleaned_data["role"], actor=actor
                )
                return self._render(notice=f"{changed.user.email or changed.user.username} is now {changed.role}.")
            if action == "remove":
                try:
                    operator_id = int(request.POST.get("operator", ""))
                except ValueError:
                    return self._render(status=400, error="That operator no longer exists.")
                email = operators.remove_operator(operator_id=operator_id, actor=actor)
                return self._render(notice=f"Removed {email}: they can no longer sign in.")
        except TenantError as exc:
            return self._render(status=400, error=str(exc)[:1].upper() + str(exc)[1:] + ".")
        return self._render(status=400, error="Unknown action.")
