"""/console/: operator sign-in and enrolment, then the pages of each area (portal.console_routes)."""

from __future__ import annotations

from django.urls import path

from portal.console_routes import delivery, investigate, tenants
from portal.views import auth
from tenants.accounts import Audience

app_name = "console"
AUDIENCE = {"audience": Audience.CONSOLE}

urlpatterns = [
    path("login", auth.LoginView.as_view(**AUDIENCE), name="login"),
    path("login/verify", auth.VerifyView.as_view(**AUDIENCE), name="verify"),
    path("enrol", auth.EnrolView.as_view(**AUDIENCE), name="enrol"),
    path("logout", auth.LogoutView.as_view(**AUDIENCE), name="logout"),
    *tenants.urlpatterns,
    *investigate.urlpatterns,
    *delivery.urlpatterns,
]
