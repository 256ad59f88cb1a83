"""SCIM errors (RFC 7644 §3.12) as exceptions, rendered to the SCIM error schema in one place."""

from __future__ import annotations

from typing import Any

ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"

# scimType values of RFC 7644 §3.12 plus RFC 9865's cursor errors.
SCIM_TYPES = frozenset(
    {
        "invalidFilter",
        "tooMany",
        "uniqueness",
        "mutability",
        "invalidSyntax",
        "invalidPath",
        "noTarget",
        "invalidValue",
        "invalidVers",
        "sensitive",
        "invalidCursor",
        "expiredCursor",
        "invalidCount",
    }
)


class ScimError(Exception):
    """An error the client caused or must see; carries the HTTP status and optional scimType."""

    def __init__(self, status: int, detail: str, scim_type: str | None = None) -> None:
        if scim_type is not None and scim_type not in SCIM_TYPES:
            raise ValueError(f"unknown scimType {scim_type!r}")
        super().__init__(detail)
        self.status = status
        self.detail = detail
        self.scim_type = scim_type

    def to_dict(self) -> dict[str, Any]:
        body: dict[str, Any] = {"schemas": [ERROR_SCHEMA], "status": str(self.status), "detail": self.detail}
        if self.scim_type:
            body["scimType"] = self.scim_type
        return body

    def __repr__(self) -> str:
        return f"ScimError({self.status}, {self.scim_type!r}, {self.detail!r})"


class UnknownAttribute(ScimError):
    """A path names no attribute of the resource type (invalidPath; invalidFilter inside a filter).

    A search across resource types skips the types where the attribute does not exist (RFC 7644
    §3.4.3): it tells this error apart by its type, not by its message."""

    def __init__(self, detail: str, scim_type: str = "invalidPath") -> None:
        super().__init__(400, detail, scim_type)


def invalid_filter(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidFilter")


def invalid_path(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidPath")


def invalid_value(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidValue")


def invalid_syntax(detail: str) -> ScimError:
    return ScimError(400, detail, "invalidSyntax")


def no_target(detail: str) -> ScimError:
    return ScimError(400, detail, "noTarget")


def mutability(detail: str) -> ScimError:
    return ScimError(400, detail, "mutability")


def uniqueness(detail: str) -> ScimError:
    return ScimError(409, detail, "uniqueness")


def not_found(detail: str = "Resource not found") -> ScimError:
    return ScimError(404, detail)
