"""Discovery endpoints: ServiceProviderConfig, ResourceTypes, Schemas (RFC 7644 §4)."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.http import HttpResponse

from scim.errors import ScimError, not_found
from scim.schema import (
    ENTERPRISE_USER_SCHEMA,
    GROUP_SCHEMA,
    RESOURCE_TYPES,
    USER_SCHEMA,
    resource_type_document,
    schema_document,
    service_provider_config,
)
from scim_api.http import list_response, scim_response

SCHEMAS = (USER_SCHEMA, GROUP_SCHEMA, ENTERPRISE_USER_SCHEMA)


def _reject_filter(params: dict[str, str]) -> None:
    # RFC 7644 §4: discovery endpoints do not filter; say so rather than ignore it silently.
    if params.get("filter"):
        raise ScimError(403, "discovery endpoints do not support filtering")


def spc(base_url: str, params: dict[str, str]) -> HttpResponse:
    _reject_filter(params)
    body = service_provider_config(
        base_url=base_url,
        documentation_uri=settings.SCIM_DOCUMENTATION_URI,
        max_results=settings.SCIM_MAX_RESULTS,
        bulk_max_operations=settings.SCIM_BULK_MAX_OPERATIONS,
        bulk_max_payload=settings.SCIM_BULK_MAX_PAYLOAD,
    )
    return scim_response(body)


def resource_types(base_url: str, params: dict[str, str], type_id: str | None) -> HttpResponse:
    _reject_filter(params)
    docs = {
        rt.id: resource_type_document(rt, f"{base_url}/ResourceTypes/{rt.id}") for rt in RESOURCE_TYPES.values()
    }
    if type_id is None:
        return scim_response(list_response(list(docs.values()), total=len(docs), start_index=1))
    for key, doc in docs.items():
        if key.lower() == type_id.lower():
            return scim_response(doc)
    raise not_found(f"ResourceType {type_id} not found")


def schemas(base_url: str, params: dict[str, str], schema_id: str | None) -> HttpResponse:
    _reject_filter(params)
    docs: dict[str, dict[str, Any]] = {s.id: schema_document(s, f"{base_url}/Schemas/{s.id}") for s in SCHEMAS}
    if schema_id is None:
        return scim_response(list_response(list(docs.values()), total=len(docs), start_index=1))
    for key, doc in docs.items():
        if key.lower() == schema_id.lower():
            return scim_response(doc)
    raise not_found(f"Schema {schema_id} not found")
