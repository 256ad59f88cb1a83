"""Tenants: the list, creation, a tenant's overview (setup, status, charts), its tokens; operators."""

from __future__ import annotations

from django.urls import path

from portal.views.console_pending import PendingPage

urlpatterns = [
    path("", PendingPage.as_view(), name="home"),
    path("tenants/new", PendingPage.as_view(), name="tenant-create"),
    path("tenants/<slug:slug>/", PendingPage.as_view(), name="tenant"),
    path("tenants/<slug:slug>/tokens", PendingPage.as_view(), name="tenant-tokens"),
    path("operators", PendingPage.as_view(), name="operators"),
]
