from django.urls import path

from scim_api import views

urlpatterns = [
    path("<str:connection_id>", views.scim_root, name="scim-root"),
    path("<str:connection_id>/", views.scim_root),
    path("<str:connection_id>/<path:scim_path>", views.scim_endpoint, name="scim-endpoint"),
]
