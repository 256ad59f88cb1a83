"""The effective attribute mapping of the current tenant (its overrides over the IdP defaults)."""

from __future__ import annotations

import time

from directory.mapping import DEFAULT_MAPPING
from directory.models import AttributeMapping
from tenants.db import tenant_connection

CACHE_SECONDS = 30.0
_cache: dict[tuple[str, str], tuple[float, dict[str, str]]] = {}


def profile_defaults(idp: str) -> dict[str, str]:
    from scim.idp import get_profile

    try:
        profile = get_profile(idp)
    except KeyError:
        return dict(DEFAULT_MAPPING)
    mapping = dict(DEFAULT_MAPPING)
    mapping.update({m.app_field: m.scim_path for m in profile.default_mappings})
    return mapping


def effective_mapping(idp: str) -> dict[str, str]:
    """Tenant overrides on top of the IdP profile's defaults; cached briefly per process."""
    key = (tenant_connection().schema_name, idp)
    hit = _cache.get(key)
    now = time.monotonic()
    if hit and now - hit[0] < CACHE_SECONDS:
        return hit[1]
    mapping = profile_defaults(idp)
    mapping.update(dict(AttributeMapping.objects.values_list("app_field", "scim_path")))
    # userName and externalId are protocol identities; a mapping never redirects them.
    mapping["user_name"] = "userName"
    mapping["external_id"] = "externalId"
    _cache[key] = (now, mapping)
    return mapping


def forget_mapping() -> None:
    """Drop cached mappings of the current schema (after the tenant edits its mapping)."""
    for key in [k for k in _cache if k[0] == tenant_connection().schema_name]:
        del _cache[key]
