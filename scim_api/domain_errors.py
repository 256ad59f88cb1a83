"""The one table that turns the directory's errors into SCIM error documents (RFC 7644 §3.12)."""

from __future__ import annotations

from directory.errors import (
    AccessDenied,
    CircularMembership,
    Conflict,
    DirectoryError,
    InvalidMembers,
    InvalidValue,
    NotFound,
    VersionMismatch,
)
from scim.errors import ScimError
from scim_api.representation import etag

# error class -> (HTTP status, scimType)
_STATUS: dict[type[DirectoryError], tuple[int, str | None]] = {
    NotFound: (404, None),
    Conflict: (409, "uniqueness"),
    VersionMismatch: (412, None),
    InvalidMembers: (400, "invalidValue"),
    CircularMembership: (400, "invalidValue"),
    InvalidValue: (400, "invalidValue"),
    AccessDenied: (403, None),
}


def scim_error_for(error: DirectoryError) -> ScimError:
    """The SCIM error a client sees for a refused directory change (nothing was applied)."""
    status, scim_type = next(
        (mapped for cls, mapped in _STATUS.items() if isinstance(error, cls)), (400, "invalidValue")
    )
    detail = error.message
    if isinstance(error, VersionMismatch):
        detail = f"resource version is {etag(error.current)}; re-read it and retry with its ETag"
    return ScimError(status, detail, scim_type)
