from django.contrib import admin
from django.urls import include, path

from config import docs, health

admin.site.site_header = "Rollcall operator console"
admin.site.site_title = "Rollcall"

urlpatterns = [
    path("console/", admin.site.urls),
    path("healthz", health.healthz, name="healthz"),
    path("metrics", health.metrics, name="metrics"),
    path("docs/scim", docs.scim_reference, name="scim-docs"),
    path("scim/v2/", include("scim.urls")),
    path("api/v1/", include("provisioning.urls")),
]
