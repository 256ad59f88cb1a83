"""The storage catalog covers every schema attribute, and each reader agrees with it."""

from __future__ import annotations

import pytest

from directory.catalog import GROUP_CATALOG, USER_CATALOG, Storage
from directory.models import DirectoryGroup, DirectoryUser
from scim.filter import parse_attr_path
from scim.schema import COMMON_ATTRIBUTES, ENTERPRISE_USER_URN, GROUP, USER


@pytest.mark.parametrize(("catalog", "rtype"), [(USER_CATALOG, USER), (GROUP_CATALOG, GROUP)])
def test_every_attribute_of_every_schema_has_a_storage(catalog, rtype):
    for schema in rtype.schemas:
        attributes = schema.attributes + (COMMON_ATTRIBUTES if schema is rtype.schema else ())
        for attribute in attributes:
            assert catalog.of(schema, attribute).storage in Storage


def test_multi_valued_complex_user_attributes_are_value_rows():
    rows = {s.name for s in USER_CATALOG.value_row_attributes}
    expected = {a.name for a in USER.schema.attributes if a.multi_valued and a.type == "complex"} - {"groups"}
    assert rows == expected


@pytest.mark.parametrize(("catalog", "model"), [(USER_CATALOG, DirectoryUser), (GROUP_CATALOG, DirectoryGroup)])
def test_column_storage_names_real_model_columns(catalog, model):
    for stored in catalog.columns:
        assert stored.column is not None
        model._meta.get_field(stored.column.name)


def test_server_keys_are_never_stored_in_the_document():
    assert USER_CATALOG.server_keys == {"schemas", "id", "meta", "groups", "password"}
    assert GROUP_CATALOG.server_keys == {"schemas", "id", "meta", "members"}


def test_extension_attributes_live_under_their_urn_in_the_document():
    stored, sub = USER_CATALOG.resolve(parse_attr_path(f"{ENTERPRISE_USER_URN}:manager.value"))
    assert stored.storage is Storage.DOCUMENT
    assert stored.document_keys(sub) == (ENTERPRISE_USER_URN, "manager", "value")
