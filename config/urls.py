from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView

from config import docs, health
from portal import admin_site
from portal.views.setup_link import SetupLinkView

admin_site.install()

urlpatterns = [
    path("", RedirectView.as_view(url="/portal/", permanent=False)),
    path("console/admin/", admin.site.urls),
    path("console/", include("portal.console_urls")),
    path("portal/", include("portal.urls")),
    path("setup/<str:secret>", SetupLinkView.as_view(), name="setup-link"),
    path("healthz", health.healthz, name="healthz"),
    path("metrics", health.metrics, name="metrics"),
    path("docs/scim", docs.scim_reference, name="scim-docs"),
    path("scim/", include("scim_api.urls")),
    path("api/v1/", include("provisioning.urls")),
]

handler400 = "portal.views.errors.bad_request"
handler403 = "portal.views.errors.permission_denied"
handler404 = "portal.views.errors.page_not_found"
handler500 = "portal.views.errors.server_error"
