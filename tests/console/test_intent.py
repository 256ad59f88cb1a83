"""What a logged request meant for a person, in every dialect IdPs use (pure)."""

from __future__ import annotations

import pytest

from console.explain import rejection_fix
from console.intent import Intent, active_value, request_intents, strongest

ID = "2819c223-7f76-453a-919d-413861904646"
USER = f"/scim/v2/conn/Users/{ID}"
PATCH = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def ops(*operations: dict) -> dict:
    return {"schemas": [PATCH], "Operations": list(operations)}


@pytest.mark.parametrize(
    ("method", "path", "body", "expected"),
    [
        ("PATCH", USER, ops({"op": "replace", "path": "active", "value": False}), Intent.DEACTIVATE),
        ("PATCH", USER, ops({"op": "Replace", "path": "active", "value": "False"}), Intent.DEACTIVATE),
        ("PATCH", USER, ops({"op": "replace", "value": {"active": False}}), Intent.DEACTIVATE),
        ("PATCH", USER, ops({"op": "replace", "value": {"Active": "off"}}), Intent.DEACTIVATE),
        ("PATCH", USER, ops({"op": "replace", "path": "active", "value": "nonsense"}), Intent.DEACTIVATE),
        ("PATCH", USER, ops({"op": "remove", "path": "active"}), Intent.CLEAR_ACTIVE),
        ("PATCH", USER, ops({"op": "replace", "path": "active", "value": True}), Intent.REACTIVATE),
        ("PATCH", USER, ops({"op": "replace", "path": "title", "value": "CTO"}), Intent.UPDATE),
        ("PUT", USER, {"userName": "j", "active": False}, Intent.DEACTIVATE),
        ("PUT", USER, {"userName": "j", "active": True}, Intent.UPDATE),
        ("DELETE", USER, None, Intent.DELETE),
        ("POST", "/scim/v2/conn/Users", {"userName": "j"}, Intent.CREATE),
        ("GET", USER, None, Intent.LOOKUP),
        (
            "PATCH",
            "/scim/v2/conn/Groups/g1",
            ops({"op": "remove", "path": f'members[value eq "{ID}"]'}),
            Intent.GROUP_REMOVE,
        ),
        ("PATCH", "/scim/v2/conn/Groups/g1", ops({"op": "add", "path": "members", "value": [{"value": ID}]}), Intent.GROUP_ADD),
    ],
)
def test_request_intent_for_the_person(method, path, body, expected):
    assert strongest(request_intents(method, path, body, ID)) is expected


def test_bulk_operations_count_only_when_they_name_the_person():
    body = {
        "Operations": [
            {"method": "PATCH", "path": "/Users/someone-else", "data": ops({"op": "replace", "path": "active", "value": False})},
            {"method": "DELETE", "path": f"/Users/{ID}"},
        ]
    }
    assert request_intents("POST", "/scim/v2/conn/Bulk", body, ID) == [Intent.DELETE]
    assert request_intents("POST", "/scim/v2/conn/Bulk", body, "unrelated-id") == []


def test_active_value_reads_booleans_numbers_and_words():
    assert [active_value(v) for v in (False, "false", " FALSE ", 0, "inactive", True, "True", 1, "maybe", None)] == [
        False, False, False, False, False, True, True, True, None, None,
    ]


def test_only_deactivate_clear_and_delete_take_access_away():
    assert {i for i in Intent if i.takes_access_away} == {Intent.DEACTIVATE, Intent.CLEAR_ACTIVE, Intent.DELETE}


def test_every_refusal_has_a_fix():
    assert "true or false" in rejection_fix(400, "invalidValue")
    assert "token" in rejection_fix(401)
    assert "Re-push" in rejection_fix(404)
    assert rejection_fix(502) == rejection_fix(500)
    assert rejection_fix(418)  # an unknown status still gets advice
