"""/docs/scim: the SCIM API reference that ServiceProviderConfig's documentationUri points to.

Served from docs/scim.md (the same text as the README's "SCIM API reference"), so the URI an IdP
or an integrator follows always resolves on the deployment itself, with no outside site.
"""

from __future__ import annotations

from functools import cache

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.views.decorators.http import require_safe


@cache
def _scim_reference() -> bytes:
    return (settings.BASE_DIR / "docs" / "scim.md").read_bytes()


@require_safe
def scim_reference(request: HttpRequest) -> HttpResponse:
    return HttpResponse(_scim_reference(), content_type="text/markdown; charset=utf-8")
