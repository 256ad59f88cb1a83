"""The replay engine itself: it must fail loudly, naming the IdP and the step."""

from __future__ import annotations

import pytest

from tests.idp.replay import ABSENT, ReplayFailure, Step, Trace, client_for, dig, replay, same_json

pytestmark = pytest.mark.django_db

TRACE = Trace(idp="generic", user_agent="engine-test", steps=(
    Step("create", "POST", "/Users", status=201, body={"userName": "e@x.test"}, capture={"user_id": "id"}),
))


def test_replay_engine_json_equality_tells_booleans_from_numbers_and_strings():
    assert same_json(True, True) and not same_json(1, True) and not same_json("true", True)
    assert not same_json(True, 1) and same_json({"a": [1]}, {"a": [1]}) and not same_json({"a": 1}, {"a": 1.5})


def test_replay_engine_dig_reads_urn_keys_and_selects_list_elements():
    body = {"urn:x:2.0:User": {"n": 1}, "Resources": [{"id": "a", "k": "x"}, {"id": "b", "k": "y"}]}
    assert dig(body, "urn:x:2.0:User.n") == 1
    assert dig(body, "Resources.k=y.id") == "b" and dig(body, "Resources.2") is ABSENT


def test_replay_engine_reports_wrong_status_with_idp_and_step(tenant_a):
    client = client_for(tenant_a, TRACE)
    replay(client, TRACE)
    with pytest.raises(ReplayFailure, match=r"status 409 not in \(201,\).*generic step 'create'"):
        replay(client, TRACE)


def test_replay_engine_reports_unmet_expectations(tenant_a):
    wrong = Trace("generic", "engine-test", (Step("create", "POST", "/Users", status=201,
                                                  body={"userName": "f@x.test"}, expect={"active": "true"}),))
    with pytest.raises(ReplayFailure, match="active: expected 'true', got True"):
        replay(client_for(tenant_a, wrong), wrong)


def test_replay_engine_refuses_unbound_placeholders(tenant_a):
    trace = Trace("generic", "engine-test", (Step("get", "GET", "/Users/{nobody}"),))
    with pytest.raises(ReplayFailure, match="placeholder"):
        replay(client_for(tenant_a, trace), trace)
