"""How identifying names are stored: Unicode NFC, without surrounding whitespace.

A userName (and a group's displayName) is unique per tenant, case-insensitively as PostgreSQL's lower()
folds it. Storing NFC means "é" typed as one code point or as "e" + U+0301 is the same name; trimming
means " ada@acme.test" is not a second Ada. Filters on these names are normalised the same way and
folded by PostgreSQL on both sides, so a lookup finds exactly the name a create would call a duplicate.
"""

from __future__ import annotations

import unicodedata
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from directory.catalog import ResourceCatalog


def normalize_text(value: str) -> str:
    return unicodedata.normalize("NFC", value).strip()


def normalize_names(document: dict[str, Any], catalog: ResourceCatalog) -> dict[str, Any]:
    """The document with every normalised column's value (userName, displayName) normalised."""
    for stored in catalog.columns:
        value = document.get(stored.name)
        if stored.column is not None and stored.column.normalized and isinstance(value, str):
            document[stored.name] = normalize_text(value)
    return document
