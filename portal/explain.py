"""Explain a SCIM request-log row to an IT admin: what happened and how to fix it. Pure.

Input is a row as a dict (RequestLog fields: method, path, status, auth_failure, scim_type,
error_detail); `token_field` and `url_field` are the IdP's own labels, so a fix can say
"paste it into Secret Token". The portal's live check and the console's request log both use it.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Explanation:
    title: str
    fix: str
    tone: str  # "ok", "warning" or "error"


DOUBLED_RESOURCE = re.compile(r"/(Users|Groups)/(Users|Groups)(/|$)", re.IGNORECASE)
DOUBLED_BASE = re.compile(r"/scim/v2/[^/]+/.*scim/v2", re.IGNORECASE)


def _auth_failure(kind: str, token_field: str, url_field: str, idp_name: str) -> Explanation:
    paste = f"Generate a new token in step 3 and paste it into {token_field}."
    texts: dict[str, tuple[str, str]] = {
        "missing_header": (
            "No Authorization header",
            f"The request carried no token. Paste the token into {token_field} and save, then test again.",
        ),
        "not_bearer": (
            'The token was not sent as "Bearer <token>"',
            f"Rollcall expects the header Authorization: Bearer <token>. Check the authentication mode and "
            f"that {token_field} holds the token itself.",
        ),
        "bearer_doubled": (
            '"Bearer" was sent twice',
            f'{idp_name} adds "Bearer " itself. Remove "Bearer " from {token_field} so it holds only the token.',
        ),
        "unknown_token": (
            "Unknown token",
            f"This token was never issued for this connection, or it was mistyped. {paste}",
        ),
        "revoked_token": ("This token was revoked", paste),
        "expired_token": (
            "This token has expired",
            f"Its rotation overlap ended. Paste the newest token into {token_field}, or {paste[0].lower()}{paste[1:]}",
        ),
        "other_connection_token": (
            "This token belongs to another connection",
            f"Each connection has its own URL and token. Check {url_field} and {token_field}: they must come "
            f"from the same connection.",
        ),
        "connection_disabled": (
            "This connection is disabled",
            "An admin turned this connection off. Turn it on again in Connections, or use the active connection.",
        ),
        "tenant_suspended": (
            "Your account is suspended",
            "Rollcall is not accepting requests for your company right now. Contact your vendor's support.",
        ),
    }
    title, fix = texts.get(kind, ("Authentication failed", paste))
    return Explanation(title, fix, "error")


def explain_request(
    row: Mapping[str, Any],
    *,
    token_field: str = "the token field",
    url_field: str = "the SCIM URL field",
    idp_name: str = "Your IdP",
) -> Explanation:
    """Title and fix for one request-log row."""
    status = int(row.get("status") or 0)
    method = str(row.get("method") or "").upper()
    path = str(row.get("path") or "")
    if status == 401:
        return _auth_failure(str(row.get("auth_failure") or ""), token_field, url_field, idp_name)
    if status == 404 and DOUBLED_RESOURCE.search(path):
        return Explanation(
            "The base URL has /Users or /Groups at the end",
            f"{idp_name} appends /Users and /Groups itself. Remove them from {url_field} and save.",
            "error",
        )
    if status == 404 and DOUBLED_BASE.search(path):
        return Explanation(
            "The SCIM path appears twice",
            f"Paste the base URL from step 3 into {url_field} exactly as shown, without adding a path.",
            "error",
        )
    if status == 404 and (row.get("resource_id") or method != "GET"):
        return Explanation(
            "Not found",
            f"{idp_name} asked for a user or group Rollcall does not have (for example one deleted earlier). "
            "It usually creates it again on its next run; no action needed unless it repeats.",
            "warning",
        )
    if status == 404:
        return Explanation(
            "Wrong path",
            f"Rollcall serves /Users, /Groups, /Schemas, /ResourceTypes and /ServiceProviderConfig under the "
            f"base URL. Check {url_field}: it must be the URL from step 3 exactly.",
            "error",
        )
    if status == 409:
        return Explanation(
            "Already exists",
            "A user or group with this userName or name exists already. Rollcall links it when "
            f"{idp_name} looks it up by userName: check that its unique identifier is userName.",
            "warning",
        )
    if status == 429:
        return Explanation("Too many requests", "Rollcall asked the IdP to slow down; it retries by itself.", "warning")
    if 400 <= status < 500:
        detail = str(row.get("error_detail") or "").strip()
        scim_type = str(row.get("scim_type") or "")
        title = f"Rejected ({scim_type})" if scim_type else "Rejected"
        fix = detail or "The request was not valid SCIM; check the attribute mappings in your IdP."
        return Explanation(title, fix, "error")
    if status >= 500:
        return Explanation(
            "Rollcall error",
            "Something failed on Rollcall's side; nothing was applied and your IdP retries it. "
            "If it repeats, contact support with the time of the request.",
            "error",
        )
    return Explanation(_success_title(method, path), "", "ok")


RESOURCE_IN_PATH = re.compile(r"/(Users|Groups)(/[^/?]+)?/?$", re.IGNORECASE)


def _success_title(method: str, path: str) -> str:
    """ "User created", "Users listed", "Group updated"... ("Answered" for anything else)."""
    match = RESOURCE_IN_PATH.search(path.split("?", 1)[0])
    if match is None:
        return "Answered"
    noun = "User" if match.group(1).lower() == "users" else "Group"
    if method == "GET":
        return f"{noun} read" if match.group(2) else f"{noun}s listed"
    verb = {"POST": "created", "PUT": "updated", "PATCH": "updated", "DELETE": "deleted"}.get(method)
    return f"{noun} {verb}" if verb else "Answered"
