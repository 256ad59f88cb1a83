"""The project's URLs plus the pipeline's API mounted where config/urls.py mounts it (api/v1/)."""

from django.urls import include, path

from config.urls import urlpatterns as project_urlpatterns

urlpatterns = [
    *[p for p in project_urlpatterns if "api/v1/" not in str(p.pattern)],
    path("api/v1/", include("provisioning.urls")),
]
