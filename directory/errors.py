"""The directory's own errors. Services raise these; each edge maps them once (SCIM error documents
at the SCIM edge, field errors and friendly pages in the portal). No HTTP status lives here."""

from __future__ import annotations

from collections.abc import Sequence


class DirectoryError(Exception):
    """A change the directory refused: nothing was written."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFound(DirectoryError):
    """No such user, group, role or mapping in this tenant's directory."""

    def __init__(self, kind: str, identifier: str) -> None:
        super().__init__(f"{kind} {identifier} not found")
        self.kind = kind
        self.identifier = identifier


class Conflict(DirectoryError):
    """A value that must be unique in the directory is already in use."""

    def __init__(self, field: str, value: object = None) -> None:
        shown = f" {value!r}" if value is not None else ""
        super().__init__(f"{field}{shown} is already in use in this directory")
        self.field = field
        self.value = value


class VersionMismatch(DirectoryError):
    """The caller changed a resource based on a version that is no longer current."""

    def __init__(self, current: int) -> None:
        super().__init__(f"the resource is at version {current}")
        self.current = current


class InvalidMembers(DirectoryError):
    """Group members that do not exist in this directory."""

    def __init__(self, ids: Sequence[str]) -> None:
        shown = ", ".join(ids[:5]) + (" ..." if len(ids) > 5 else "")
        super().__init__(f"members do not exist in this directory: {shown}")
        self.ids = list(ids)


class CircularMembership(DirectoryError):
    """Adding these groups would make a group (indirectly) a member of itself."""

    def __init__(self, ids: Sequence[str]) -> None:
        super().__init__(f"adding group(s) {', '.join(ids)} would make group membership circular")
        self.ids = list(ids)


class InvalidValue(DirectoryError):
    """A value the directory cannot accept (an unknown role key, a mapping to a path that cannot exist)."""

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class AccessDenied(DirectoryError):
    """The user may not start a session or create a token (inactive or unknown)."""
