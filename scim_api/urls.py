"""Mounted at /scim/: every connection's endpoint, and a SCIM 404 document for anything else under it.

Patterns match any character, newlines included: a path Django's default converters refuse must still
be answered by the SCIM edge (with a SCIM error document), never by an HTML page."""

from django.urls import re_path

from scim_api import views

urlpatterns = [
    re_path(r"^v2/(?P<connection_id>[^/]+)/?$", views.scim_root, name="scim-root"),
    re_path(r"^v2/(?P<connection_id>[^/]+)/(?P<scim_path>[\s\S]+)$", views.scim_endpoint, name="scim-endpoint"),
    re_path(r"^[\s\S]*$", views.not_a_scim_endpoint),
]
