"""Delivery and oversight: webhooks and replay, Events API keys, the audit log, support access, jobs."""

from __future__ import annotations

from django.urls import path

from portal.views import console_audit, console_jobs, console_support, console_webhooks

urlpatterns = [
    path("tenants/<slug:slug>/webhooks", console_webhooks.WebhooksView.as_view(), name="tenant-webhooks"),
    path("tenants/<slug:slug>/webhooks/replay", console_webhooks.BulkReplayView.as_view(), name="tenant-webhook-replay"),
    path(
        "tenants/<slug:slug>/webhooks/deliveries/<int:delivery_id>",
        console_webhooks.DeliveryView.as_view(),
        name="tenant-delivery",
    ),
    path(
        "tenants/<slug:slug>/webhooks/<uuid:endpoint_id>",
        console_webhooks.WebhookEndpointView.as_view(),
        name="tenant-webhook-endpoint",
    ),
    path("tenants/<slug:slug>/api-keys", console_webhooks.ApiKeysView.as_view(), name="tenant-apikeys"),
    path("tenants/<slug:slug>/audit", console_audit.TenantAuditView.as_view(), name="tenant-audit"),
    path("tenants/<slug:slug>/support", console_support.SupportView.as_view(), name="tenant-support"),
    path("tenants/<slug:slug>/support/open", console_support.OpenPortalView.as_view(), name="tenant-support-open"),
    path("audit", console_audit.AuditLogView.as_view(), name="audit"),
    path("jobs", console_jobs.JobsView.as_view(), name="jobs"),
    path("jobs/<uuid:job_id>", console_jobs.JobView.as_view(), name="job"),
    path("jobs/<uuid:job_id>/download", console_jobs.JobDownloadView.as_view(), name="job-download"),
]
