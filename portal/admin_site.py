"""Django admin at /console/admin/: admin operators with a verified second factor only."""

from __future__ import annotations

from django.contrib import admin
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect

from portal.views.base import is_verified
from tenants.models import Operator


def has_permission(request: HttpRequest) -> bool:
    user = request.user
    return bool(
        user.is_active
        and user.is_staff
        and is_verified(user)
        and Operator.objects.filter(user_id=user.pk, role=Operator.Role.ADMIN).exists()
    )


def login(request: HttpRequest, extra_context: object = None) -> HttpResponse:
    return redirect("console:login")


def install() -> None:
    admin.site.site_header = "Rollcall operator console"
    admin.site.site_title = "Rollcall"
    admin.site.has_permission = has_permission  # type: ignore[method-assign]
    admin.site.login = login  # type: ignore[method-assign,assignment]
