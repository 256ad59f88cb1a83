"""/portal/: the customer admin portal: sign-in, the setup wizard (8 steps) and the workspace."""

from __future__ import annotations

from django.urls import path

from portal.views import (
    activity,
    auth,
    connections,
    directory,
    mapping,
    notifications,
    portal,
    roles,
    verify,
    wizard,
)
from tenants.accounts import Audience

app_name = "portal"
AUDIENCE = {"audience": Audience.PORTAL}
SETUP = "connections/<str:connection_id>/setup"

urlpatterns = [
    path("", portal.HomeView.as_view(), name="home"),
    path("login", auth.LoginView.as_view(**AUDIENCE), name="login"),
    path("login/verify", auth.VerifyView.as_view(**AUDIENCE), name="verify"),
    path("enrol", auth.EnrolView.as_view(**AUDIENCE), name="enrol"),
    path("logout", auth.LogoutView.as_view(**AUDIENCE), name="logout"),
    path("admins", portal.AdminsView.as_view(), name="admins"),
    # The wizard, one connection at a time.
    path("setup/", wizard.SetupStartView.as_view(), name="setup"),
    path("setup/new", wizard.ChooseIdpView.as_view(), name="wizard-new"),
    path(f"{SETUP}/idp", wizard.ChooseIdpView.as_view(), name="wizard-idp"),
    path(f"{SETUP}/instructions", wizard.InstructionsView.as_view(), name="wizard-instructions"),
    path(f"{SETUP}/credentials", wizard.CredentialsView.as_view(), name="wizard-credentials"),
    path(f"{SETUP}/live", wizard.LiveCheckView.as_view(), name="wizard-live"),
    path(f"{SETUP}/mapping", mapping.WizardMappingView.as_view(), name="wizard-mapping"),
    path(f"{SETUP}/roles", roles.WizardRolesView.as_view(), name="wizard-roles"),
    path(f"{SETUP}/verify", verify.VerifyView.as_view(), name="wizard-verify"),
    path(f"{SETUP}/done", verify.DoneView.as_view(), name="wizard-done"),
    # The workspace.
    path("connections", connections.ConnectionsView.as_view(), name="connections"),
    path("connections/<str:connection_id>", connections.ConnectionView.as_view(), name="connection"),
    path("connections/<str:connection_id>/delete", connections.DeleteConnectionView.as_view(), name="connection-delete"),
    path("connections/<str:connection_id>/mapping", mapping.WorkspaceMappingView.as_view(), name="mapping"),
    path("mappings", mapping.MappingsIndexView.as_view(), name="mappings"),
    path("roles", roles.WorkspaceRolesView.as_view(), name="roles"),
    path("directory", directory.UsersView.as_view(), name="directory"),
    path("directory/groups", directory.GroupsView.as_view(), name="directory-groups"),
    path("directory/agents", directory.AgentsView.as_view(), name="directory-agents"),
    path("directory/users/<str:user_id>", directory.UserDetailView.as_view(), name="directory-user"),
    path("activity", activity.ActivityView.as_view(), name="activity"),
    path("activity/requests/<int:request_pk>", activity.RequestDetailView.as_view(), name="activity-request"),
    path("activity/audit", activity.AuditView.as_view(), name="activity-audit"),
    path("notifications", notifications.NotificationsView.as_view(), name="notifications"),
]
