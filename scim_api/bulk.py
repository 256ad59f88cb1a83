"""POST /Bulk (RFC 7644 §3.7): ordered operations, bulkId references, failOnErrors, limits.

Each operation runs in its own transaction (partial success is the RFC's default). Operations
that reference a `bulkId:` created later in the request are deferred until it exists; circular
or dangling references fail on their own with 409 / 400.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.db import transaction

from directory.change import in_callers_transaction
from directory.errors import DirectoryError
from scim.errors import ScimError, invalid_syntax, invalid_value
from scim.patch import parse_patch_request
from scim.resources import parse_resource
from scim_api.domain_errors import scim_error_for
from scim_api.endpoints import ENDPOINTS, ResourceEndpoint, ScimCall
from scim_api.http import check_patch_size, parse_json_body
from scim_api.representation import etag, expected_version

BULK_REQUEST = "urn:ietf:params:scim:api:messages:2.0:BulkRequest"
BULK_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:BulkResponse"
BULK_REF = re.compile(r"bulkId:([A-Za-z0-9_.\-~]+)")
METHODS = {"POST", "PUT", "PATCH", "DELETE"}


@dataclass
class Operation:
    index: int
    method: str
    path: str
    bulk_id: str | None
    version: str | None
    data: Any


def _references(value: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(value, str):
        found.update(BULK_REF.findall(value))
    elif isinstance(value, list):
        for item in value:
            found |= _references(item)
    elif isinstance(value, dict):
        for item in value.values():
            found |= _references(item)
    return found


def _substitute(value: Any, ids: dict[str, str]) -> Any:
    if isinstance(value, str):
        return BULK_REF.sub(lambda m: ids.get(m.group(1), m.group(0)), value)
    if isinstance(value, list):
        return [_substitute(v, ids) for v in value]
    if isinstance(value, dict):
        return {k: _substitute(v, ids) for k, v in value.items()}
    return value


def _parse(body: Any) -> tuple[list[Operation], int | None]:
    if not isinstance(body, dict):
        raise invalid_syntax("a BulkRequest must be a JSON object")
    lowered = {k.lower(): v for k, v in body.items()}
    raw_ops = lowered.get("operations")
    if not isinstance(raw_ops, list):
        raise invalid_syntax("a BulkRequest needs an Operations list")
    if len(raw_ops) > settings.SCIM_BULK_MAX_OPERATIONS:
        raise ScimError(413, f"too many operations: the maximum is {settings.SCIM_BULK_MAX_OPERATIONS}")
    fail_on_errors = lowered.get("failonerrors")
    if fail_on_errors is not None and (not isinstance(fail_on_errors, int) or isinstance(fail_on_errors, bool) or fail_on_errors < 1):
        raise invalid_value("failOnErrors must be a positive integer")
    ops: list[Operation] = []
    for index, raw in enumerate(raw_ops):
        if not isinstance(raw, dict):
            raise invalid_syntax(f"operation {index} is not an object")
        op = {k.lower(): v for k, v in raw.items()}
        if op.get("version") is not None and not isinstance(op["version"], str):
            raise invalid_syntax(f"operation {index}: version must be an ETag string such as W/\"3\"")
        ops.append(
            Operation(
                index=index,
                method=str(op.get("method", "")).upper(),
                path=str(op.get("path", "")),
                bulk_id=str(op["bulkid"]) if op.get("bulkid") is not None else None,
                version=op.get("version"),
                data=op.get("data"),
            )
        )
    return ops, fail_on_errors


def _target(path: str) -> tuple[ResourceEndpoint, str | None]:
    parts = [p for p in path.strip().split("/") if p]
    if not parts or len(parts) > 2 or parts[0].lower() not in ENDPOINTS:
        raise invalid_value(f"unsupported bulk operation path {path!r}")
    return ENDPOINTS[parts[0].lower()], (parts[1] if len(parts) == 2 else None)


def _run(op: Operation, call: ScimCall) -> tuple[int, Any, str | None]:
    """Run one operation in its own transaction (a savepoint when nested); returns (status, row or None, location).

    The services add no savepoint of their own, so this is what lets a failed operation roll back
    alone while the others go on.
    """
    try:
        with transaction.atomic(), in_callers_transaction():
            return _apply(op, call)
    except DirectoryError as exc:
        raise scim_error_for(exc) from exc


def _apply(op: Operation, call: ScimCall) -> tuple[int, Any, str | None]:
    if op.method not in METHODS:
        raise invalid_value(f"unsupported bulk method {op.method!r}")
    endpoint, resource_id = _target(op.path)
    expected = expected_version(op.version)
    if op.method == "POST":
        if resource_id is not None:
            raise invalid_value("POST operations target a resource type path such as /Users")
        if not op.bulk_id:
            raise invalid_value("POST operations need a bulkId")
        row = endpoint.create(parse_resource(op.data, endpoint.rtype, call.quirks), call)
    elif resource_id is None:
        raise invalid_value(f"{op.method} operations need a resource path such as /Users/<id>")
    elif op.method == "PUT":
        row = endpoint.replace(resource_id, parse_resource(op.data, endpoint.rtype, call.quirks), expected, call)
    elif op.method == "PATCH":
        operations = parse_patch_request(op.data, call.quirks)
        check_patch_size(operations)
        row = endpoint.patch(resource_id, operations, expected, call)
    else:
        endpoint.delete(resource_id, expected, call)
        return 204, None, None
    location = f"{call.base_url}/{endpoint.rtype.endpoint.strip('/')}/{row.id}"
    return (201 if op.method == "POST" else 200), row, location


def _result(op: Operation, status: int, location: str | None = None, version: str | None = None, error: ScimError | None = None) -> dict[str, Any]:
    result: dict[str, Any] = {"method": op.method, "status": str(status)}
    if op.bulk_id:
        result["bulkId"] = op.bulk_id
    if location:
        result["location"] = location
    if version:
        result["version"] = version
    if error is not None:
        result["response"] = error.to_dict()
    return result


def bulk(call: ScimCall) -> dict[str, Any]:
    call.body = parse_json_body(call.request, limit=settings.SCIM_BULK_MAX_PAYLOAD)
    ops, fail_on_errors = _parse(call.body)
    created_ids: dict[str, str] = {}
    failed_bulk_ids: set[str] = set()
    results: dict[int, dict[str, Any]] = {}
    errors = 0
    pending = list(ops)
    defined = {op.bulk_id for op in ops if op.method == "POST" and op.bulk_id}
    while pending:
        progressed = False
        deferred: list[Operation] = []
        for op in pending:
            refs = _references(op.data) | _references(op.path)
            if refs & failed_bulk_ids:
                results[op.index] = _result(op, 409, error=ScimError(409, f"operation depends on failed bulkId {sorted(refs & failed_bulk_ids)[0]}"))
                errors += 1
                progressed = True
            elif refs - set(created_ids):
                missing = refs - set(created_ids)
                if missing - defined:
                    results[op.index] = _result(op, 400, error=invalid_value(f"unknown bulkId {sorted(missing - defined)[0]}"))
                    errors += 1
                    progressed = True
                else:
                    deferred.append(op)
                    continue
            else:
                op.data = _substitute(op.data, created_ids)
                op.path = _substitute(op.path, created_ids)
                try:
                    status, row, location = _run(op, call)
                    version = etag(row.version) if row is not None else None
                    results[op.index] = _result(op, status, location, version)
                    if op.method == "POST" and op.bulk_id and row is not None:
                        created_ids[op.bulk_id] = str(row.id)
                except ScimError as exc:
                    results[op.index] = _result(op, exc.status, error=exc)
                    errors += 1
                    if op.bulk_id:
                        failed_bulk_ids.add(op.bulk_id)
                progressed = True
            if fail_on_errors is not None and errors >= fail_on_errors:
                return _response(results)
        if not progressed:
            for op in deferred:  # every remaining reference is circular
                results[op.index] = _result(op, 409, error=ScimError(409, "circular bulkId references cannot be resolved"))
            break
        pending = deferred
    return _response(results)


def _response(results: dict[int, dict[str, Any]]) -> dict[str, Any]:
    return {"schemas": [BULK_RESPONSE], "Operations": [results[i] for i in sorted(results)]}
