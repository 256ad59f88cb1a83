"""Discovery endpoints tell the truth (RFC 7644 §4)."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.django_db


def test_service_provider_config_advertises_what_is_enforced(scim, settings):
    r = scim.get("/ServiceProviderConfig")
    assert r.status == 200
    assert r["schemas"] == ["urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"]
    assert r["patch"]["supported"] is True
    assert r["bulk"]["supported"] is True
    assert r["bulk"]["maxOperations"] == settings.SCIM_BULK_MAX_OPERATIONS
    assert r["bulk"]["maxPayloadSize"] == settings.SCIM_BULK_MAX_PAYLOAD
    assert r["filter"] == {"supported": True, "maxResults": settings.SCIM_MAX_RESULTS}
    assert r["etag"]["supported"] is True and r["sort"]["supported"] is True
    assert r["changePassword"]["supported"] is False
    assert r["authenticationSchemes"][0]["type"] == "oauthbearertoken"


def test_service_provider_config_rejects_other_methods(scim):
    r = scim.post("/ServiceProviderConfig", {})
    assert r.status == 405


def test_resource_types_list_and_lookup(scim):
    r = scim.get("/ResourceTypes")
    assert r["totalResults"] == 2
    by_id = {x["id"]: x for x in r["Resources"]}
    assert by_id["User"]["endpoint"] == "/Users"
    assert by_id["User"]["schemaExtensions"] == [
        {"schema": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "required": False}
    ]
    assert scim.get("/ResourceTypes/Group")["schema"] == "urn:ietf:params:scim:schemas:core:2.0:Group"
    assert scim.get("/ResourceTypes/Widget").status == 404


def test_schemas_list_and_lookup(scim):
    r = scim.get("/Schemas")
    ids = {x["id"] for x in r["Resources"]}
    assert ids == {
        "urn:ietf:params:scim:schemas:core:2.0:User",
        "urn:ietf:params:scim:schemas:core:2.0:Group",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    }
    user = scim.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:User")
    attrs = {a["name"]: a for a in user["attributes"]}
    assert attrs["userName"]["uniqueness"] == "server"
    assert attrs["userName"]["caseExact"] is False
    assert attrs["password"]["returned"] == "never"
    assert attrs["groups"]["mutability"] == "readOnly"
    assert scim.get("/Schemas/urn:nope").status == 404


def test_discovery_rejects_filters(scim):
    assert scim.get('/Schemas?filter=id eq "x"').status == 403
