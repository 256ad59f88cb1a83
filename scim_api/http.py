"""HTTP plumbing for SCIM: JSON bodies in, application/scim+json out, list parameters."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from django.conf import settings
from django.http import HttpRequest, HttpResponse

from scim.errors import ScimError, invalid_syntax, invalid_value
from scim.filter import (
    AttrPath,
    Filter,
    FilterError,
    PathError,
    parse_attr_list,
    parse_attr_path,
    parse_filter,
)
from scim.quirks import Quirk, QuirkLog

SCIM_CONTENT_TYPE = "application/scim+json"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"
KNOWN_QUERY_PARAMS = frozenset(
    {"filter", "sortby", "sortorder", "startindex", "count", "attributes", "excludedattributes", "cursor"}
)


def scim_response(body: Any | None, status: int = 200, headers: dict[str, str] | None = None) -> HttpResponse:
    content = b"" if body is None else orjson.dumps(body)
    response = HttpResponse(content, status=status, content_type=SCIM_CONTENT_TYPE)
    if body is None:
        del response["Content-Type"]
    for name, value in (headers or {}).items():
        response[name] = value
    return response


def error_response(error: ScimError) -> HttpResponse:
    headers = {}
    if error.status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="rollcall-scim"'
    return scim_response(error.to_dict(), status=error.status, headers=headers)


JSON_MEDIA_TYPES = frozenset({SCIM_CONTENT_TYPE, "application/json"})


def check_content_type(request: HttpRequest) -> None:
    """RFC 7644 §3.1: bodies are application/scim+json (application/json accepted, with any charset)."""
    raw = request.META.get("CONTENT_TYPE") or ""
    media_type = raw.split(";", 1)[0].strip().lower()
    if media_type and media_type not in JSON_MEDIA_TYPES:
        raise ScimError(415, f"send the body as {SCIM_CONTENT_TYPE} (or application/json), not {media_type[:100]}")


def _check_shape(value: Any, max_depth: int) -> None:
    """Refuse what no SCIM body needs and the database cannot store: deep nesting and NUL characters."""
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            if depth > max_depth:
                raise invalid_syntax(f"request body is nested more than {max_depth} levels deep")
            for key, child in item.items():
                if "\x00" in key:
                    raise invalid_value("request body holds a NUL character (\\u0000)")
                stack.append((child, depth + 1))
        elif isinstance(item, list):
            if depth > max_depth:
                raise invalid_syntax(f"request body is nested more than {max_depth} levels deep")
            stack.extend((child, depth + 1) for child in item)
        elif isinstance(item, str) and "\x00" in item:
            raise invalid_value("request body holds a NUL character (\\u0000)")


def parse_json_body(request: HttpRequest, *, limit: int | None = None) -> Any:
    """The request body as JSON; malformed JSON -> 400 invalidSyntax, too large -> 413, a body sent
    without Content-Length (chunked) -> 411, another media type -> 415."""
    limit = limit or settings.SCIM_MAX_BODY
    check_content_type(request)
    length = request.META.get("CONTENT_LENGTH") or ""
    if not length and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
        raise ScimError(411, "send the request body with a Content-Length header (chunked bodies are not read)")
    if length.isdigit() and int(length) > limit:
        raise ScimError(413, f"request body is larger than {limit} bytes")
    raw = request.body
    if len(raw) > limit:
        raise ScimError(413, f"request body is larger than {limit} bytes")
    if not raw.strip():
        raise invalid_syntax("request body is empty; send a JSON object")
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise invalid_syntax(f"request body is not valid JSON: {str(exc)[:200]}") from None
    _check_shape(parsed, settings.SCIM_MAX_JSON_DEPTH)
    return parsed


def check_patch_size(operations: list[Any]) -> None:
    """A PATCH carries at most SCIM_PATCH_MAX_OPERATIONS operations (real IdPs send a handful)."""
    limit = settings.SCIM_PATCH_MAX_OPERATIONS
    if len(operations) > limit:
        raise ScimError(413, f"too many PATCH operations: the maximum is {limit} per request", "tooMany")


def query_params(request: HttpRequest, quirks: QuirkLog) -> dict[str, str]:
    """Query parameters by lower-cased name. Unknown ones and dangling separators are noted, not fatal."""
    raw_query = request.META.get("QUERY_STRING", "")
    if raw_query.endswith(("&", "?")) or "&&" in raw_query or (raw_query == "" and request.get_full_path().endswith("?")):
        quirks.record(Quirk.TRAILING_QUERY_SEPARATOR)
    params: dict[str, str] = {}
    for key in request.GET:
        lowered = key.lower()
        if lowered in KNOWN_QUERY_PARAMS:
            params[lowered] = str(request.GET[key])  # the last value of a repeated key
        elif key:
            quirks.record(Quirk.UNKNOWN_QUERY_PARAMETER, key)
    return params


MAX_START_INDEX = 2**53


@dataclass(frozen=True)
class ListQuery:
    filter: Filter | None
    sort_by: AttrPath | None
    descending: bool
    start_index: int
    count: int
    attributes: list[AttrPath] | None
    excluded: list[AttrPath] | None


def _int_param(name: str, raw: Any, default: int) -> int:
    if raw is None or raw == "":
        return default
    if isinstance(raw, bool):
        raise invalid_value(f"{name} must be an integer")
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise invalid_value(f"{name} must be an integer, got {raw!r}") from None


def _attr_list(name: str, raw: Any) -> list[AttrPath] | None:
    if raw is None or raw == "" or raw == []:
        return None
    text = ",".join(str(v) for v in raw) if isinstance(raw, list) else str(raw)
    try:
        return parse_attr_list(text) or None
    except PathError as exc:
        raise invalid_value(f"{name}: {exc}") from None


def parse_list_query(values: dict[str, Any]) -> ListQuery:
    """Build a ListQuery from GET parameters or a SearchRequest body (keys lower-cased)."""
    filter_text = values.get("filter")
    parsed_filter: Filter | None = None
    if filter_text not in (None, ""):
        if not isinstance(filter_text, str):
            raise ScimError(400, "filter must be a string", "invalidFilter")
        try:
            parsed_filter = parse_filter(filter_text)
        except FilterError as exc:
            raise ScimError(400, f"invalid filter: {exc}", "invalidFilter") from None
    sort_raw = values.get("sortby")
    sort_by = None
    if sort_raw not in (None, ""):
        try:
            sort_by = parse_attr_path(str(sort_raw))
        except PathError as exc:
            raise invalid_value(f"sortBy: {exc}") from None
    order = str(values.get("sortorder") or "ascending").lower()
    if order not in {"ascending", "descending"}:
        raise invalid_value("sortOrder must be ascending or descending")
    # Past MAX_START_INDEX nothing can be found (and the offset must stay a PostgreSQL bigint).
    start_index = min(max(_int_param("startIndex", values.get("startindex"), 1), 1), MAX_START_INDEX)
    count = _int_param("count", values.get("count"), settings.SCIM_DEFAULT_PAGE_SIZE)
    count = min(max(count, 0), settings.SCIM_MAX_RESULTS)
    attributes = _attr_list("attributes", values.get("attributes"))
    excluded = _attr_list("excludedAttributes", values.get("excludedattributes"))
    if attributes and excluded:
        raise invalid_value("attributes and excludedAttributes cannot be used together")
    return ListQuery(parsed_filter, sort_by, order == "descending", start_index, count, attributes, excluded)


def list_response(resources: list[dict[str, Any]], *, total: int, start_index: int) -> dict[str, Any]:
    body: dict[str, Any] = {
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "itemsPerPage": len(resources),
        "startIndex": start_index,
        "Resources": resources,
    }
    return body
