"""Interim operator console (Django admin, public schema) until the support console lands.

"Add tenant" goes through tenants.services.create_tenant (which clones the tenant's schema): a
tenant row saved by the admin alone would have no schema, answer 500 to its IdP and stall the
sweeper. Schema names are never edited here.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin
from django.http import HttpRequest

from tenants.audit import AuditActor
from tenants.models import ApiKey, ScimConnection, ScimToken, SetupLink, Tenant
from tenants.services import TenantError, create_tenant, validate_new_tenant


class AddTenantForm(forms.ModelForm):
    class Meta:
        model = Tenant
        fields = ("name", "slug")

    def clean(self) -> dict[str, Any]:
        cleaned = super().clean() or {}
        if "name" in cleaned and "slug" in cleaned:
            try:
                validate_new_tenant(name=cleaned["name"], slug=cleaned["slug"])
            except TenantError as exc:
                raise forms.ValidationError(str(exc)) from None
        return cleaned


@admin.register(Tenant)
class TenantAdmin(admin.ModelAdmin):
    list_display = ("name", "slug", "schema_name", "status", "created_at")
    search_fields = ("name", "slug")
    readonly_fields = ("schema_name",)

    def get_form(self, request: HttpRequest, obj: Any = None, change: bool = False, **kwargs: Any) -> Any:
        if obj is None:
            kwargs["form"] = AddTenantForm
        return super().get_form(request, obj, change=change, **kwargs)

    def get_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return ("name", "slug") if obj is None else super().get_fields(request, obj)

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> Any:
        return () if obj is None else ("slug", "schema_name")

    def save_model(self, request: HttpRequest, obj: Tenant, form: Any, change: bool) -> None:
        if change:
            super().save_model(request, obj, form, change)
            return
        actor = AuditActor(
            kind="operator",
            id=str(request.user.pk),
            label=getattr(request.user, "email", "") or request.user.get_username(),
            role="admin",  # the Django admin is for admin operators only
            source_ip=request.META.get("REMOTE_ADDR"),
        )
        created = create_tenant(name=obj.name, slug=obj.slug, actor=actor).tenant
        # The admin logs the addition and redirects using `obj`: make it the row the service created.
        for field in Tenant._meta.concrete_fields:
            setattr(obj, field.attname, getattr(created, field.attname))
        obj._state.adding = False
        obj._state.db = created._state.db


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
