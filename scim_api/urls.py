"""Mounted at /scim/: every connection's endpoint, and a SCIM 404 document for anything else under it."""

from django.urls import path, re_path

from scim_api import views

urlpatterns = [
    path("v2/<str:connection_id>", views.scim_root, name="scim-root"),
    path("v2/<str:connection_id>/", views.scim_root),
    path("v2/<str:connection_id>/<path:scim_path>", views.scim_endpoint, name="scim-endpoint"),
    re_path(r"^.*$", views.not_a_scim_endpoint),
]
