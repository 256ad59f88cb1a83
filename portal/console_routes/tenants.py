"""Tenants: the list, creation, a tenant's overview (setup, status, charts), its tokens; operators."""

from __future__ import annotations

from django.urls import path

from portal.views import console_operators, console_tenants

urlpatterns = [
    path("", console_tenants.TenantListView.as_view(), name="home"),
    path("tenants/new", console_tenants.TenantCreateView.as_view(), name="tenant-create"),
    path("tenants/<slug:slug>/", console_tenants.TenantOverviewView.as_view(), name="tenant"),
    path("tenants/<slug:slug>/setup-link", console_tenants.TenantSetupLinkView.as_view(), name="tenant-setup-link"),
    path("tenants/<slug:slug>/status", console_tenants.TenantStatusView.as_view(), name="tenant-status"),
    path("tenants/<slug:slug>/rebuild", console_tenants.TenantRollupRebuildView.as_view(), name="tenant-rollup-rebuild"),
    path("tenants/<slug:slug>/tokens", console_tenants.TenantTokensView.as_view(), name="tenant-tokens"),
    path("operators", console_operators.OperatorsView.as_view(), name="operators"),
]
