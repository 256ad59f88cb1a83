"""The console's tenant-scoped view base: an operator looking into one tenant, named in the URL.

OperatorView checks the operator, the second factor and the role's permission for the method; this
base adds the tenant (by slug; an unknown slug is a 404) and keeps its schema active for the whole
request, template rendering included, so the tenant's models read its own schema.
"""

from __future__ import annotations

from typing import Any

from django.http import Http404, HttpRequest
from django.http.response import HttpResponseBase
from django_tenants.utils import schema_context

from portal.views.base import OperatorView
from tenants.models import Tenant


class TenantOperatorView(OperatorView):
    """`self.tenant` is the tenant of the URL's `slug`; its schema is active during the request."""

    tenant: Tenant
    tab: str = ""  # which tenant tab is current (templates/console/_tenant_tabs.html)

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        # Public-schema tables (operators, sessions) stay reachable: the search path ends in public.
        with schema_context(self.tenant.schema_name):
            return super().dispatch(request, *args, **kwargs)

    def setup(self, request: HttpRequest, *args: Any, **kwargs: Any) -> None:
        super().setup(request, *args, **kwargs)
        slug = str(kwargs.get("slug", ""))
        tenant = Tenant.objects.filter(slug=slug).first()
        if tenant is None or tenant.schema_name == "public":
            raise Http404("no such tenant")
        self.tenant = tenant

    def tenant_context(self, **extra: Any) -> dict[str, Any]:
        """What every tenant page's template needs: the operator, the tenant, the current tab."""
        return {"operator": self.operator, "tenant": self.tenant, "tab": self.tab, "nav": "tenants", **extra}
