"""/portal/: the customer admin portal. Later steps and workspace pages add their names here."""

from __future__ import annotations

from django.urls import path

from portal.views import auth, portal, wizard
from tenants.accounts import Audience

app_name = "portal"
AUDIENCE = {"audience": Audience.PORTAL}

urlpatterns = [
    path("", portal.HomeView.as_view(), name="home"),
    path("login", auth.LoginView.as_view(**AUDIENCE), name="login"),
    path("login/verify", auth.VerifyView.as_view(**AUDIENCE), name="verify"),
    path("enrol", auth.EnrolView.as_view(**AUDIENCE), name="enrol"),
    path("logout", auth.LogoutView.as_view(**AUDIENCE), name="logout"),
    path("admins", portal.AdminsView.as_view(), name="admins"),
    path("setup/", wizard.SetupStartView.as_view(), name="setup"),
    path("setup/new", wizard.ChooseIdpView.as_view(), name="wizard-new"),
    path("connections/<str:connection_id>/setup/idp", wizard.ChooseIdpView.as_view(), name="wizard-idp"),
    path(
        "connections/<str:connection_id>/setup/instructions",
        wizard.InstructionsView.as_view(),
        name="wizard-instructions",
    ),
    path(
        "connections/<str:connection_id>/setup/credentials",
        wizard.CredentialsView.as_view(),
        name="wizard-credentials",
    ),
    path("connections/<str:connection_id>/setup/live", wizard.LiveCheckView.as_view(), name="wizard-live"),
]
