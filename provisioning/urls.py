"""Mounted by config/urls.py at api/v1/: /api/v1/events and the OpenAPI document /api/v1/schema."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView

from provisioning.api import EventsView

urlpatterns = [
    path("events", EventsView.as_view(), name="events-list"),
    path("schema", SpectacularAPIView.as_view(), name="api-schema"),
]
