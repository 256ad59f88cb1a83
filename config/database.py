"""A libpq connection URL from a Django database settings dict (the same server Django reaches)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import quote


def libpq_url(db: Mapping[str, Any], *, name: str | None = None) -> str:
    """`postgresql://user:pw@host:port/name` for Django's `DATABASES[...]` (or `connection.settings_dict`).

    A unix socket directory in HOST is percent-encoded into the host part, which libpq, psycopg and
    dj-database-url all read back as a socket: worker processes and raw connections built from this
    URL reach the very server (embedded or not) that Django uses. `name` replaces the database name
    (e.g. pytest-django's test_<name>)."""
    user = quote(str(db.get("USER") or ""), safe="")
    password = db.get("PASSWORD")
    auth = f"{user}:{quote(str(password), safe='')}@" if password else (f"{user}@" if user else "")
    host = quote(str(db.get("HOST") or "127.0.0.1"), safe="")
    port = f":{db['PORT']}" if db.get("PORT") else ""
    return f"postgresql://{auth}{host}{port}/{quote(str(name or db['NAME']), safe='')}"
