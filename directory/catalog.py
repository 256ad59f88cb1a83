"""The storage catalog: where each SCIM attribute of a User or a Group lives in the database.

Derived from the schema definitions in `scim.schema` plus a short override table, and read by the
writer (directory.users / groups), the filter compiler (directory.filtering), the sort builder
(directory.selectors) and the SCIM renderer. Adding an attribute to the schema is enough for it to
be stored, filtered, sorted and rendered; a multi-valued complex attribute automatically gets
indexed value rows.

Every resource keeps its canonical SCIM document in `resource` (JSONB). Storage says where a
filter or a sort must look:
- COLUMN: a model column (indexed) that mirrors the document's value;
- DOCUMENT: a key (path) of the document itself;
- VALUE_ROWS: one `UserValue` row per element (emails, phoneNumbers, ...), so value filters are SQL;
- MEMBERSHIP: derived from `Membership` rows (User.groups, Group.members), never in the document;
- META: metadata the server keeps in columns and renders (created, lastModified, version, location);
- NOT_STORED: accepted and dropped (password: the IdP stays the authenticator).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

from scim.filter import AttrPath
from scim.schema import COMMON_ATTRIBUTES, GROUP, USER, Attribute, ResourceType, Schema, resolve_path


class Storage(StrEnum):
    COLUMN = "column"
    DOCUMENT = "document"
    VALUE_ROWS = "value_rows"
    MEMBERSHIP = "membership"
    META = "meta"
    NOT_STORED = "not_stored"


@dataclass(frozen=True)
class ColumnSpec:
    """How an attribute is mirrored in a column: its name, the SQL comparison type, nullability."""

    name: str
    type: str  # string | boolean | uuid
    nullable: bool = False
    normalized: bool = False  # values are stored NFC-normalised and trimmed (directory.normalization)


@dataclass(frozen=True)
class StoredAttribute:
    schema: Schema
    attribute: Attribute
    storage: Storage
    column: ColumnSpec | None = None

    @property
    def name(self) -> str:
        return self.attribute.name

    def document_keys(self, sub: Attribute | None = None) -> tuple[str, ...]:
        """The JSON keys from the document's root to this attribute (or its sub-attribute)."""
        keys: tuple[str, ...] = (self.schema.id, self.name) if self._in_extension else (self.name,)
        return keys + ((sub.name,) if sub is not None else ())

    @property
    def _in_extension(self) -> bool:
        return self.schema.id not in {USER.schema.id, GROUP.schema.id}


# Sub-attributes of a multi-valued attribute that have their own column in a UserValue row; the
# others are kept in its `extra` JSON.
VALUE_ROW_COLUMNS: dict[str, str] = {"type": "string", "primary": "boolean", "value": "string", "display": "string"}
# meta sub-attributes kept in columns of the resource's own table.
META_COLUMNS: dict[str, str] = {"created": "created", "lastModified": "last_modified"}

_Override = tuple[Storage, ColumnSpec | None]

USER_OVERRIDES: dict[str, _Override] = {
    "id": (Storage.COLUMN, ColumnSpec("id", "uuid")),
    "externalId": (Storage.COLUMN, ColumnSpec("external_id", "string", nullable=True)),
    "userName": (Storage.COLUMN, ColumnSpec("user_name", "string", normalized=True)),
    "active": (Storage.COLUMN, ColumnSpec("active", "boolean")),
    "meta": (Storage.META, None),
    "groups": (Storage.MEMBERSHIP, None),
    "password": (Storage.NOT_STORED, None),
}
GROUP_OVERRIDES: dict[str, _Override] = {
    "id": (Storage.COLUMN, ColumnSpec("id", "uuid")),
    "externalId": (Storage.COLUMN, ColumnSpec("external_id", "string", nullable=True)),
    "displayName": (Storage.COLUMN, ColumnSpec("display_name", "string", normalized=True)),
    "meta": (Storage.META, None),
    "members": (Storage.MEMBERSHIP, None),
}


def _default_storage(attribute: Attribute) -> Storage:
    if attribute.multi_valued and attribute.type == "complex":
        return Storage.VALUE_ROWS
    return Storage.DOCUMENT


class ResourceCatalog:
    """The storage of every attribute of one resource type (core schema, extensions, common)."""

    def __init__(self, rtype: ResourceType, overrides: dict[str, _Override]) -> None:
        self.rtype = rtype
        self._by_key: dict[tuple[str, str], StoredAttribute] = {}
        core = rtype.schema
        for attribute in (*COMMON_ATTRIBUTES, *core.attributes):
            self._add(core, attribute, overrides)
        for extension, _required in rtype.extensions:
            for attribute in extension.attributes:
                self._add(extension, attribute, {})
        stored = list(self._by_key.values())
        self.columns: tuple[StoredAttribute, ...] = tuple(
            s for s in stored if s.storage is Storage.COLUMN and s.name != "id"
        )
        self.value_row_attributes: tuple[StoredAttribute, ...] = tuple(
            s for s in stored if s.storage is Storage.VALUE_ROWS
        )
        # Top-level document keys the server owns: never kept in `resource`, rendered by the server.
        self.server_keys: frozenset[str] = frozenset(
            {"schemas"}
            | {s.name for s in stored if s.storage in {Storage.MEMBERSHIP, Storage.META, Storage.NOT_STORED}}
            | {"id"}
        )

    def _add(self, schema: Schema, attribute: Attribute, overrides: dict[str, _Override]) -> None:
        storage, column = overrides.get(attribute.name, (_default_storage(attribute), None))
        self._by_key[(schema.id, attribute.name.lower())] = StoredAttribute(schema, attribute, storage, column)

    def of(self, schema: Schema, attribute: Attribute) -> StoredAttribute:
        return self._by_key[(schema.id, attribute.name.lower())]

    def resolve(self, path: AttrPath) -> tuple[StoredAttribute, Attribute | None]:
        """The stored attribute a path names and its sub-attribute; unknown paths raise invalidPath."""
        resolved = resolve_path(self.rtype, path)
        return self.of(resolved.schema, resolved.attribute), resolved.sub

    def named(self, name: str) -> StoredAttribute:
        """A core or common attribute by name (e.g. "userName", "members")."""
        for (schema_id, lowered), stored in self._by_key.items():
            if schema_id == self.rtype.schema.id and lowered == name.lower():
                return stored
        raise KeyError(name)


USER_CATALOG = ResourceCatalog(USER, USER_OVERRIDES)
GROUP_CATALOG = ResourceCatalog(GROUP, GROUP_OVERRIDES)
