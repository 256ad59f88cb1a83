"""Delivery and oversight: webhooks and replay, Events API keys, the audit log, support access, jobs."""

from __future__ import annotations

from django.urls import path

from portal.views.console_pending import PendingPage

urlpatterns = [
    path("tenants/<slug:slug>/webhooks", PendingPage.as_view(), name="tenant-webhooks"),
    path("tenants/<slug:slug>/api-keys", PendingPage.as_view(), name="tenant-apikeys"),
    path("tenants/<slug:slug>/audit", PendingPage.as_view(), name="tenant-audit"),
    path("tenants/<slug:slug>/support", PendingPage.as_view(), name="tenant-support"),
    path("audit", PendingPage.as_view(), name="audit"),
    path("jobs", PendingPage.as_view(), name="jobs"),
]
