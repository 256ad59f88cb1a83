"""Investigation: a tenant's request log explorer, the user timeline with its verdict, the outbox."""

from __future__ import annotations

from django.urls import path

from portal.views.console_pending import PendingPage

urlpatterns = [
    path("tenants/<slug:slug>/requests", PendingPage.as_view(), name="tenant-requests"),
    path("tenants/<slug:slug>/people", PendingPage.as_view(), name="tenant-people"),
    path("tenants/<slug:slug>/outbox", PendingPage.as_view(), name="tenant-outbox"),
]
