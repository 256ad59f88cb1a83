"""Interim operator console (Django admin, public schema) until the support console lands."""

from django.contrib import admin

from tenants.models import ApiKey, ScimConnection, ScimToken, SetupLink, Tenant


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "schema_name", "status", "created_at")
    search_fields = ("name", "slug")
    readonly_fields = ("schema_name",)


@admin.register(ScimConnection)
class ScimConnectionAdmin(admin.ModelAdmin):
    list_display = ("id", "tenant", "idp", "detected_idp", "first_request_at", "last_request_at", "is_active")
    list_filter = ("idp", "is_active")


@admin.register(ScimToken)
class ScimTokenAdmin(admin.ModelAdmin):
    list_display = ("prefix", "connection", "created_at", "expires_at", "revoked_at", "last_used_at")
    readonly_fields = ("digest", "prefix")


admin.site.register(SetupLink)
admin.site.register(ApiKey)
