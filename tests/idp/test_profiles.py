"""IdP profiles: complete setup instructions, valid mappings and quirks, aliases, behaviour data."""

from __future__ import annotations

from pathlib import Path

import pytest

from directory.attribute_mappings import profile_defaults
from directory.mapping import APP_FIELDS_BY_KEY, COMMON_MAPPING, map_user
from scim.filter import AttrPath, parse_patch_path
from scim.idp import PROFILES, get_profile
from scim.idp.base import Behaviour, Deprovision, IdpProfile
from scim.quirks import Quirk, QuirkLog
from scim.resources import parse_resource
from scim.schema import USER, resolve_path
from tenants.services import create_connection, scim_base_url
from tenants.setup import setup_instructions
from tests.support.actors import TEST_ACTOR

KEYS = ("okta", "entra", "google", "onelogin", "jumpcloud", "ping", "rippling", "generic")
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
DOCS = Path(__file__).resolve().parents[2] / "docs" / "idp-setup.md"


def test_every_supported_idp_has_a_profile_under_its_key() -> None:
    assert tuple(PROFILES) == KEYS
    assert all(PROFILES[key].key == key for key in KEYS)


@pytest.mark.parametrize("key", KEYS)
def test_setup_steps_ask_the_admin_to_paste_both_the_url_and_the_token(key: str) -> None:
    values = [f.value for step in PROFILES[key].setup_steps for f in step.fields]
    assert sum("{scim_base_url}" in v for v in values) >= 1
    assert sum("{token}" in v for v in values) >= 1
    assert all(step.title and step.body for step in PROFILES[key].setup_steps)


@pytest.mark.parametrize("key", KEYS)
def test_default_mappings_name_real_scim_attributes_and_app_fields(key: str) -> None:
    for app_field, scim_path in profile_defaults(key).items():
        assert app_field in APP_FIELDS_BY_KEY, app_field
        parsed = parse_patch_path(scim_path)
        sub = parsed.sub_attr or parsed.attr.sub_attr
        resolved = resolve_path(USER, AttrPath(parsed.attr.urn, parsed.attr.attr, sub))
        assert resolved.attribute.mutability != "readOnly", (app_field, scim_path)


@pytest.mark.parametrize("key", KEYS)
def test_profiles_list_only_what_differs_from_the_common_mapping(key: str) -> None:
    for override in PROFILES[key].mapping_overrides:
        assert COMMON_MAPPING[override.app_field] != override.scim_path, override


@pytest.mark.parametrize("key", KEYS)
def test_expected_quirks_are_quirk_enum_members(key: str) -> None:
    assert all(isinstance(q, Quirk) for q in PROFILES[key].expected_quirks)


def test_a_profile_refuses_quirk_names_given_as_plain_strings() -> None:
    okta = PROFILES["okta"]
    with pytest.raises(TypeError):
        IdpProfile(key="x", name="X", behaviour=okta.behaviour, expected_quirks=frozenset({"op_capitalised"}))  # type: ignore[arg-type]


def test_the_generic_profile_is_strict_rfc_and_expects_no_quirks() -> None:
    generic = PROFILES["generic"]
    assert generic.expected_quirks == frozenset()
    assert generic.user_agents == () and generic.url_flags == () and generic.schema_urns == ()


@pytest.mark.parametrize(
    ("alias", "key"),
    [
        ("okta", "okta"),
        (" OKTA ", "okta"),
        ("Azure", "entra"),
        ("azure_ad", "entra"),
        ("entraid", "entra"),
        ("gsuite", "google"),
        ("google_workspace", "google"),
        ("OneLogin", "onelogin"),
        ("jumpcloud", "jumpcloud"),
        ("pingfederate", "ping"),
        ("PingOne", "ping"),
        ("rippling", "rippling"),
        ("scim", "generic"),
        ("custom", "generic"),
    ],
)
def test_keys_and_aliases_resolve_case_insensitively(alias: str, key: str) -> None:
    assert get_profile(alias).key == key


def test_an_unknown_idp_is_a_key_error_that_lists_the_choices() -> None:
    with pytest.raises(KeyError) as caught:
        get_profile("myspace")
    message = caught.value.args[0]
    assert "unknown IdP 'myspace'" in message
    assert all(key in message for key in KEYS)


def test_behaviour_rejects_inferred_names_that_are_not_fields() -> None:
    base = PROFILES["okta"].behaviour
    with pytest.raises(ValueError, match="page_sise"):
        Behaviour(**{**base.__dict__, "inferred": frozenset({"page_sise"})})


def test_behaviour_records_how_each_idp_deprovisions() -> None:
    okta, entra = PROFILES["okta"].behaviour, PROFILES["entra"].behaviour
    assert not okta.hard_deletes and Deprovision.DELETE not in okta.deprovision
    assert okta.paging.page_size == 100
    assert entra.deprovision == (Deprovision.PATCH_ACTIVE_FALSE,) and entra.hard_deletes
    assert entra.user_updates == ("PATCH",)
    assert PROFILES["onelogin"].behaviour.user_updates == ("PUT",)
    assert "deprovision" in PROFILES["onelogin"].behaviour.inferred


def test_entra_default_mapping_reads_what_entra_sends() -> None:
    body = {
        "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User", ENTERPRISE],
        "userName": "ada@contoso.test",
        "emails": [
            {"value": "home@example.test", "type": "home"},
            {"value": "ada@contoso.test", "type": "work"},
        ],
        "phoneNumbers": [
            {"value": "+1 555 0100", "type": "mobile"},
            {"value": "+1 555 0199", "type": "work"},
        ],
        "preferredLanguage": "en-GB",
        ENTERPRISE: {"employeeNumber": "42", "manager": {"value": "m-1"}},
    }
    fields = map_user(parse_resource(body, USER, QuirkLog()), profile_defaults("entra"))
    assert fields["email"] == "ada@contoso.test"
    assert fields["phone"] == "+1 555 0199"
    assert fields["locale"] == "en-GB"
    assert fields["employee_number"] == "42" and fields["manager"] == "m-1"


@pytest.mark.parametrize("key", KEYS)
def test_setup_instructions_fill_every_placeholder(tenant_a, key: str) -> None:  # type: ignore[no-untyped-def]
    connection = create_connection(tenant=tenant_a, idp=key, actor=TEST_ACTOR).connection
    steps = setup_instructions(connection, token="rcs_example")
    text = " ".join([s.title + s.body for s in steps] + [f.value for s in steps for f in s.fields])
    assert "{scim_base_url}" not in text and "{token}" not in text
    assert scim_base_url(connection) in text and "rcs_example" in text


def test_entra_setup_instructions_append_the_rfc_patch_flag_to_the_tenant_url(tenant_a) -> None:  # type: ignore[no-untyped-def]
    connection = create_connection(tenant=tenant_a, idp="entra", actor=TEST_ACTOR).connection
    fields = {f.label: f.value for step in setup_instructions(connection, token="rcs_t") for f in step.fields}
    assert fields["Tenant URL"] == scim_base_url(connection) + "?aadOptscim062020"
    assert fields["Secret Token"] == "rcs_t"


def test_okta_setup_instructions_use_oktas_field_labels(tenant_a) -> None:  # type: ignore[no-untyped-def]
    connection = create_connection(tenant=tenant_a, idp="okta", actor=TEST_ACTOR).connection
    fields = {f.label: f.value for step in setup_instructions(connection, token="rcs_t") for f in step.fields}
    assert fields["SCIM connector base URL"] == scim_base_url(connection)
    assert fields["Unique identifier field for users"] == "userName"
    assert fields["Authentication Mode"] == "HTTP Header"
    assert fields["Authorization"] == "rcs_t"


def test_setup_instructions_without_a_token_say_where_to_get_one(tenant_a) -> None:  # type: ignore[no-untyped-def]
    connection = create_connection(tenant=tenant_a, idp="onelogin", actor=TEST_ACTOR).connection
    fields = {f.label: f.value for step in setup_instructions(connection) for f in step.fields}
    assert "rotate" in fields["SCIM Bearer Token"]
    assert '"userName": "{$parameters.scimusername}"' in fields["SCIM JSON Template"]


@pytest.mark.parametrize("key", KEYS)
def test_the_setup_guide_documents_every_profile_and_its_field_labels(key: str) -> None:
    guide = DOCS.read_text()
    profile = PROFILES[key]
    assert f"## {profile.name}" in guide
    for step in profile.setup_steps:
        for field in step.fields:
            assert field.label in guide, (key, field.label)
