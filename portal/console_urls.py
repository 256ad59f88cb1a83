"""/console/: operator sign-in and enrolment; the console issue adds its pages here."""

from __future__ import annotations

from django.urls import path

from portal.views import auth, console
from tenants.accounts import Audience

app_name = "console"
AUDIENCE = {"audience": Audience.CONSOLE}

urlpatterns = [
    path("", console.ConsoleHomeView.as_view(), name="home"),
    path("login", auth.LoginView.as_view(**AUDIENCE), name="login"),
    path("login/verify", auth.VerifyView.as_view(**AUDIENCE), name="verify"),
    path("enrol", auth.EnrolView.as_view(**AUDIENCE), name="enrol"),
    path("logout", auth.LogoutView.as_view(**AUDIENCE), name="logout"),
]
