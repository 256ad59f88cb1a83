"""The floor: the benchmark's scenarios served by a bare WSGI function over raw SQL.

What a SCIM server costs at the least on this machine and this HTTP server: no framework, no ORM,
no tenants, one fixed bearer token, one statement (or two) per request in autocommit, and only the
request shapes the benchmark sends (bench/scimload/payloads.py). It is not a SCIM server: anything
else answers 501. Served like the other two apps: ``config.webserver`` with
``bench.floor.app:application``; FLOOR_DATABASE_URL and FLOOR_TOKEN configure it.
"""

from __future__ import annotations

import hmac
import json
import os
import re
import threading
import uuid
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import parse_qs

import psycopg
from psycopg.types.json import Jsonb

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
LIST = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
USER_NAME_EQ = re.compile(r'^userName eq "([^"]*)"$')
MEMBER_EQ = re.compile(r'^members\[value eq "([^"]*)"\]$')

SCHEMA_SQL = """
CREATE TABLE IF NOT EXISTS floor_user (
    id uuid PRIMARY KEY, user_name text NOT NULL, active boolean NOT NULL, data jsonb NOT NULL,
    created bigserial
);
CREATE UNIQUE INDEX IF NOT EXISTS floor_user_name ON floor_user (lower(user_name));
CREATE INDEX IF NOT EXISTS floor_user_created ON floor_user (created);
CREATE TABLE IF NOT EXISTS floor_group (id uuid PRIMARY KEY, display_name text NOT NULL);
CREATE TABLE IF NOT EXISTS floor_member (
    group_id uuid NOT NULL REFERENCES floor_group ON DELETE CASCADE,
    user_id uuid NOT NULL REFERENCES floor_user ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX IF NOT EXISTS floor_member_user ON floor_member (user_id);
"""

Response = tuple[str, dict[str, Any] | None]
_local = threading.local()


def connection() -> psycopg.Connection[Any]:
    conn: psycopg.Connection[Any] | None = getattr(_local, "conn", None)
    if conn is None or conn.closed:
        conn = psycopg.connect(os.environ["FLOOR_DATABASE_URL"], autocommit=True)
        _local.conn = conn
    return conn


def create_schema(database_url: str) -> None:
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(SCHEMA_SQL)


def _user(row: tuple[Any, ...]) -> dict[str, Any]:
    uid, data = row
    return {**data, "id": str(uid), "meta": {"resourceType": "User", "location": f"/scim/v2/Users/{uid}"}}


def _error(status: str, detail: str) -> Response:
    return status, {"schemas": [ERROR], "status": status.split()[0], "detail": detail}


def list_users(query: dict[str, list[str]]) -> Response:
    conn = connection()
    raw_filter = (query.get("filter") or [""])[0]
    if raw_filter:
        match = USER_NAME_EQ.match(raw_filter)
        if not match:
            return _error("501 Not Implemented", "only userName eq is served")
        rows = conn.execute(
            "SELECT id, data FROM floor_user WHERE lower(user_name) = lower(%s)", [match.group(1)]
        ).fetchall()
        total = len(rows)
    else:
        start = max(1, int((query.get("startIndex") or ["1"])[0]))
        count = min(1000, max(0, int((query.get("count") or ["100"])[0])))
        total = conn.execute("SELECT count(*) FROM floor_user").fetchone()[0]  # type: ignore[index]
        rows = conn.execute(
            "SELECT id, data FROM floor_user ORDER BY created OFFSET %s LIMIT %s", [start - 1, count]
        ).fetchall()
    return "200 OK", {
        "schemas": [LIST],
        "totalResults": total,
        "itemsPerPage": len(rows),
        "startIndex": 1,
        "Resources": [_user(row) for row in rows],
    }


def create_user(body: dict[str, Any]) -> Response:
    uid = uuid.uuid4()
    data = {key: value for key, value in body.items() if key not in {"id", "meta"}}
    try:
        connection().execute(
            "INSERT INTO floor_user (id, user_name, active, data) VALUES (%s, %s, %s, %s)",
            [uid, body["userName"], bool(body.get("active", True)), Jsonb(data)],
        )
    except psycopg.errors.UniqueViolation:
        return _error("409 Conflict", "userName exists")
    return "201 Created", _user((uid, data))


def patch_user(uid: str, body: dict[str, Any]) -> Response:
    given: str | None = None
    active: bool | None = None
    for op in body.get("Operations", []):
        value = op.get("value")
        if op.get("path") == "name.givenName":
            given = str(value)
        elif "path" not in op and isinstance(value, dict) and set(value) == {"active"}:
            active = bool(value["active"])
        else:
            return _error("501 Not Implemented", "only the benchmark's PATCH shapes are served")
    row = connection().execute(
        """UPDATE floor_user SET
             data = CASE WHEN %(given)s::text IS NULL THEN data
                         ELSE jsonb_set(data, '{name,givenName}', to_jsonb(%(given)s::text)) END
                    || CASE WHEN %(active)s::boolean IS NULL THEN '{}'::jsonb
                            ELSE jsonb_build_object('active', %(active)s::boolean) END,
             active = coalesce(%(active)s::boolean, active)
           WHERE id = %(id)s RETURNING id, data""",
        {"given": given, "active": active, "id": uid},
    ).fetchone()
    return ("200 OK", _user(row)) if row else _error("404 Not Found", "no such user")


def delete_user(uid: str) -> Response:
    deleted = connection().execute("DELETE FROM floor_user WHERE id = %s", [uid]).rowcount
    return ("204 No Content", None) if deleted else _error("404 Not Found", "no such user")


def create_group(body: dict[str, Any]) -> Response:
    gid = uuid.uuid4()
    connection().execute("INSERT INTO floor_group (id, display_name) VALUES (%s, %s)", [gid, body["displayName"]])
    return "201 Created", {"schemas": [GROUP], "id": str(gid), "displayName": body["displayName"], "members": []}


def get_group(gid: str, query: dict[str, list[str]]) -> Response:
    conn = connection()
    row = conn.execute("SELECT display_name FROM floor_group WHERE id = %s", [gid]).fetchone()
    if row is None:
        return _error("404 Not Found", "no such group")
    group: dict[str, Any] = {"schemas": [GROUP], "id": gid, "displayName": row[0]}
    if "members" not in (query.get("excludedAttributes") or [""])[0]:
        members = conn.execute("SELECT user_id FROM floor_member WHERE group_id = %s", [gid]).fetchall()
        group["members"] = [{"value": str(m[0])} for m in members]
    return "200 OK", group


def patch_group(gid: str, body: dict[str, Any]) -> Response:
    add: list[str] = []
    remove: list[str] = []
    for op in body.get("Operations", []):
        kind, path = str(op.get("op", "")).lower(), op.get("path", "")
        if path == "members":
            (add if kind == "add" else remove).extend(str(m["value"]) for m in op.get("value", []))
        elif kind == "remove" and (match := MEMBER_EQ.match(path)):
            remove.append(match.group(1))
        else:
            return _error("501 Not Implemented", "only member adds and removals are served")
    conn = connection()
    with conn.transaction():
        if add:
            conn.execute(
                "INSERT INTO floor_member (group_id, user_id) SELECT %s, unnest(%s::uuid[]) ON CONFLICT DO NOTHING",
                [gid, add],
            )
        if remove:
            conn.execute("DELETE FROM floor_member WHERE group_id = %s AND user_id = ANY(%s::uuid[])", [gid, remove])
    return "204 No Content", None


def route(method: str, parts: list[str], query: dict[str, list[str]], body: Any) -> Response:
    match method, parts:
        case "GET", ["ServiceProviderConfig"]:
            return "200 OK", {"patch": {"supported": True}, "filter": {"supported": True, "maxResults": 1000}}
        case "GET", ["Users"]:
            return list_users(query)
        case "POST", ["Users"]:
            return create_user(body)
        case "PATCH", ["Users", uid]:
            return patch_user(uid, body)
        case "DELETE", ["Users", uid]:
            return delete_user(uid)
        case "POST", ["Groups"]:
            return create_group(body)
        case "GET", ["Groups", gid]:
            return get_group(gid, query)
        case "PATCH", ["Groups", gid]:
            return patch_group(gid, body)
    return _error("501 Not Implemented", f"{method} {'/'.join(parts)} is not served by the floor")


def application(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
    token = os.environ["FLOOR_TOKEN"]
    offered = environ.get("HTTP_AUTHORIZATION", "").removeprefix("Bearer ")
    path = environ.get("PATH_INFO", "")
    if not hmac.compare_digest(offered.encode(), token.encode()):
        status, payload = _error("401 Unauthorized", "bad token")
    elif not path.startswith("/scim/v2/"):
        status, payload = _error("404 Not Found", "not here")
    else:
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = json.loads(environ["wsgi.input"].read(length)) if length else None
        query = parse_qs(environ.get("QUERY_STRING", ""))
        status, payload = route(environ["REQUEST_METHOD"], path[len("/scim/v2/") :].strip("/").split("/"), query, body)
    content = b"" if payload is None else json.dumps(payload).encode()
    headers = [("Content-Type", "application/scim+json"), ("Content-Length", str(len(content)))]
    start_response(status, headers)
    return [content]
