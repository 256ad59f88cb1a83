"""django-tenants' PostgreSQL backend with two round trips per request taken out.

- **search_path**: django-tenants forgets the session's search_path on every `set_tenant()`, so a
  thread that serves tenant A, switches to public at the end of the request and serves tenant A
  again sends `SET search_path` again. This wrapper remembers what the database session really has
  (the last SET that succeeded, forgotten when the connection closes or a rollback may have undone
  it) and sends nothing when the schema asked for is already in place.
- **health check**: with CONN_HEALTH_CHECKS Django pings (`SELECT 1`) a persistent connection
  before its first query in every request. A connection that was last checked or used less than
  HEALTH_CHECK_IDLE_SECONDS ago is not pinged: a server that went away within that second fails that
  one request (and Django drops the connection at the request's end), where a busy worker would
  otherwise pay a round trip per request for nothing.
"""

from __future__ import annotations

import time
from typing import Any

from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper

HEALTH_CHECK_IDLE_SECONDS = 1.0


class DatabaseWrapper(TenantDatabaseWrapper):  # type: ignore[misc]
    def __init__(self, *args: Any, **kwargs: Any) -> None:
        self._session_search_path: list[str] | None = None
        self._confirmed_at = 0.0
        super().__init__(*args, **kwargs)

    # search_path

    def set_tenant(self, tenant: Any, include_public: bool = True) -> None:
        super().set_tenant(tenant, include_public)
        if self._session_search_path is not None and self._session_search_path == self._get_cursor_search_paths():
            self.search_path_set_schemas = self._session_search_path

    def _handle_search_path(self, cursor: Any = None) -> None:
        super()._handle_search_path(cursor)
        if not self._setting_search_path:  # not the re-entry from inside the SET itself
            self._session_search_path = self.search_path_set_schemas

    def close(self) -> None:
        self._session_search_path = None
        super().close()

    def rollback(self) -> None:
        self._session_search_path = None
        super().rollback()

    def savepoint_rollback(self, sid: str) -> None:
        try:
            super().savepoint_rollback(sid)
        finally:
            self._session_search_path = None

    # health check

    def close_if_health_check_failed(self) -> None:
        checked = bool(getattr(self, "health_check_done", False))
        if self.connection is not None and self.health_check_enabled and not checked:
            now = time.monotonic()
            if now - self._confirmed_at < HEALTH_CHECK_IDLE_SECONDS:
                self.health_check_done = True
                self._confirmed_at = now
                return
        super().close_if_health_check_failed()
        self._confirmed_at = time.monotonic()

    def connect(self) -> None:
        super().connect()
        self._session_search_path = None
        self._confirmed_at = time.monotonic()
