"""IdP detection from user agents, URL flags and request shapes (recorded quirks)."""

from __future__ import annotations

from typing import Any

import pytest

from scim.idp import PROFILES
from scim.idp.base import TrafficSample
from scim.idp.detection import QUIRK_PHRASES, detect_idp
from scim.quirks import Quirk
from tenants.models import ScimConnection
from tests.support.scim_client import PATCH_OP, USER_SCHEMA, ScimClient

USER_AGENTS = {
    "okta": "Okta SCIM Client 1.0.0",
    "entra": "Azure AD SCIM Client",
    "google": "Google-Auto-Provisioning/1.0",
    "onelogin": "OneLogin SCIM",
    "jumpcloud": "JumpCloud SCIM Client",
    "ping": "PingFederate SCIM Connector",
    "rippling": "Rippling SCIM",
}

ONELOGIN_TEMPLATE_BODY = {
    "schemas": ["urn:scim:schemas:core:2.0", "urn:scim:schemas:extension:enterprise:2.0"],
    "userName": "jdoe@example.test",
    "name": {"familyName": "Doe", "givenName": "Jane"},
    "emails": [{"value": "jdoe@example.test", "type": "work", "primary": True}],
    "title": "",
    "urn:scim:schemas:extension:enterprise:2.0": {
        "department": "",
        "manager": {"managerId": "", "displayName": " "},
    },
    "active": "true",
}


def sample(
    *,
    user_agent: str = "",
    query: str = "",
    body: Any = None,
    quirks: tuple[str, ...] = (),
    method: str = "PATCH",
) -> TrafficSample:
    return TrafficSample(
        method=method, path="/scim/v2/c/Users/u", query=query, user_agent=user_agent, body=body, quirks=quirks
    )


def test_every_idp_except_generic_has_a_user_agent_pattern() -> None:
    assert set(USER_AGENTS) == set(PROFILES) - {"generic"}
    assert all(PROFILES[key].user_agents for key in USER_AGENTS)


@pytest.mark.parametrize(("key", "agent"), sorted(USER_AGENTS.items()))
def test_each_idp_is_detected_from_its_user_agent(key: str, agent: str) -> None:
    detection = detect_idp([sample(user_agent=agent, method="GET")])
    assert detection is not None
    assert detection.key == key
    assert detection.confidence >= 0.9
    assert detection.evidence[0] == f"User-Agent '{agent}'"


def test_entra_is_detected_from_capitalised_ops_and_string_booleans_without_a_user_agent() -> None:
    detection = detect_idp([sample(quirks=(Quirk.OP_CAPITALISED.value, Quirk.STRING_BOOLEAN.value))])
    assert detection is not None and detection.key == "entra"
    assert detection.confidence >= 0.5
    assert "sent capitalised PATCH ops (Microsoft Entra ID)" in detection.evidence
    assert 'sent booleans as strings ("True"/"False") (Microsoft Entra ID or OneLogin)' in detection.evidence


def test_entra_is_detected_from_the_aadoptscim_flag_in_the_url() -> None:
    detection = detect_idp([sample(query="aadOptscim062020&filter=userName+eq+%22x%22", method="GET")])
    assert detection is not None and detection.key == "entra"
    assert detection.evidence == ("URL flag 'aadOptscim062020' in the query string",)


def test_entra_is_detected_from_the_microsoft_group_schema_urn() -> None:
    body = {
        "schemas": [
            "urn:ietf:params:scim:schemas:core:2.0:Group",
            "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group",
        ],
        "displayName": "Engineering",
    }
    detection = detect_idp([sample(body=body, quirks=(Quirk.NONSTANDARD_SCHEMA_URN.value,), method="POST")])
    assert detection is not None and detection.key == "entra"


def test_onelogin_is_detected_from_its_template_shapes_without_a_user_agent() -> None:
    quirks = tuple(
        q.value
        for q in (
            Quirk.NONSTANDARD_SCHEMA_URN,
            Quirk.EMPTY_STRING_CLEARS,
            Quirk.MANAGER_ID_KEY,
            Quirk.STRING_BOOLEAN,
        )
    )
    detection = detect_idp([sample(body=ONELOGIN_TEMPLATE_BODY, quirks=quirks, method="POST")])
    assert detection is not None and detection.key == "onelogin"
    assert detection.confidence > 0.9
    assert "sent manager.managerId instead of manager.value (OneLogin)" in detection.evidence
    assert "schema URN 'urn:scim:schemas:core:2.0'" in detection.evidence


@pytest.mark.parametrize(
    "quirks",
    [
        (Quirk.STRING_BOOLEAN.value,),  # Entra and OneLogin both send it
        (Quirk.MEMBER_MISSING_TYPE.value,),  # Okta, Entra, OneLogin and JumpCloud
        (Quirk.MEMBER_REMOVE_VALUE_LIST.value, Quirk.MEMBER_MISSING_TYPE.value),  # Entra legacy or JumpCloud
    ],
)
def test_quirks_shared_by_several_idps_alone_detect_nothing(quirks: tuple[str, ...]) -> None:
    assert detect_idp([sample(quirks=quirks)]) is None


def test_rfc_traffic_from_an_unknown_client_detects_nothing() -> None:
    body = {"schemas": [USER_SCHEMA], "userName": "ada@example.test", "active": True}
    samples = [
        sample(user_agent="rollcall-tests", body=body, method="POST"),
        sample(
            user_agent="curl/8.5.0",
            query="filter=userName%20eq%20%22ada%22&startIndex=1&count=100",
            method="GET",
        ),
    ]
    assert detect_idp(samples) is None
    assert detect_idp([]) is None


def test_an_unknown_query_parameter_alone_is_not_evidence() -> None:
    assert detect_idp([sample(query="foo=1", quirks=(Quirk.UNKNOWN_QUERY_PARAMETER.value,))]) is None


def test_unknown_quirk_names_are_ignored() -> None:
    assert detect_idp([sample(quirks=("a_quirk_from_the_future",))]) is None


def test_the_same_evidence_on_many_requests_counts_once() -> None:
    one = sample(quirks=(Quirk.OP_CAPITALISED.value, Quirk.STRING_BOOLEAN.value))
    assert detect_idp([one]) == detect_idp([one, one, one])


def test_evidence_from_several_requests_adds_up() -> None:
    capitalised = sample(quirks=(Quirk.OP_CAPITALISED.value,))
    null_ref = sample(quirks=(Quirk.MEMBER_NULL_REF.value,))
    alone = detect_idp([capitalised])
    together = detect_idp([capitalised, null_ref])
    assert alone is not None and together is not None
    assert together.key == "entra" and together.confidence > alone.confidence


def test_every_quirk_has_a_phrase_for_the_wizard() -> None:
    assert set(QUIRK_PHRASES) == set(Quirk)


def _detected(client: ScimClient) -> str:
    return ScimConnection.objects.get(pk=client.connection_id).detected_idp


def test_a_generic_connection_called_by_okta_records_okta_as_detected(scim: ScimClient) -> None:
    scim.user_agent = USER_AGENTS["okta"]
    assert scim.get("/Users?startIndex=1&count=2").status == 200
    assert _detected(scim) == "okta"


def test_entra_legacy_deactivate_over_http_records_entra_as_detected(scim: ScimClient) -> None:
    user = scim.create_user("ada@contoso.test")
    assert user.status == 201
    assert _detected(scim) == ""
    response = scim.patch(
        f"/Users/{user['id']}",
        {"schemas": [PATCH_OP], "Operations": [{"op": "Replace", "path": "active", "value": "False"}]},
    )
    assert response.status == 200 and response["active"] is False
    assert _detected(scim) == "entra"


def test_a_onelogin_template_post_over_http_records_onelogin_as_detected(scim: ScimClient) -> None:
    assert scim.post("/Users", ONELOGIN_TEMPLATE_BODY).status == 201
    assert _detected(scim) == "onelogin"


def test_rfc_requests_over_http_leave_the_detected_idp_empty(scim: ScimClient) -> None:
    user = scim.create_user("grace@example.test", active=True)
    scim.patch_ops(f"/Users/{user['id']}", {"op": "replace", "path": "active", "value": False})
    scim.get("/Users?filter=userName%20eq%20%22grace%40example.test%22")
    assert _detected(scim) == ""
