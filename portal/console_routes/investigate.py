"""Investigation: a tenant's request log explorer, the user timeline with its verdict, the outbox."""

from __future__ import annotations

from django.urls import path

from portal.views.console_outbox import TenantOutboxView
from portal.views.console_requests import TenantRequestsView, TenantRequestView
from portal.views.console_timeline import TenantPeopleView

urlpatterns = [
    path("tenants/<slug:slug>/requests", TenantRequestsView.as_view(), name="tenant-requests"),
    path("tenants/<slug:slug>/requests/<int:pk>", TenantRequestView.as_view(), name="tenant-request"),
    path("tenants/<slug:slug>/people", TenantPeopleView.as_view(), name="tenant-people"),
    path("tenants/<slug:slug>/outbox", TenantOutboxView.as_view(), name="tenant-outbox"),
]
