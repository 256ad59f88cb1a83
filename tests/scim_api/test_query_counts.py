"""Query counts stay constant per request, whatever the page or batch size."""

from __future__ import annotations

import pytest

from tests.support.queries import count_queries

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _every_request_checks_its_token(settings) -> None:  # type: ignore[no-untyped-def]
    """The verified-token cache expires by time: without it, every request runs the same queries."""
    settings.ROLLCALL_SCIM_AUTH_CACHE_SECONDS = 0


def _queries(fn) -> int:
    with count_queries() as queries:
        response = fn()
    assert response.status < 300, response.body
    return queries.count


def test_list_page_query_count_does_not_grow_with_page_size(scim):
    ids = [scim.create_user(f"p{i}@acme.test")["id"] for i in range(60)]
    scim.create_group("G1", ids[:30])
    small = _queries(lambda: scim.get("/Users?count=5"))
    large = _queries(lambda: scim.get("/Users?count=60"))
    assert small == large
    with count_queries(at_most=8):
        scim.get("/Users?count=60&filter=" + 'emails pr or userName sw "p"')


def test_group_patch_with_100_members_is_constant(scim):
    ids = [scim.create_user(f"m{i}@acme.test")["id"] for i in range(200)]
    group = scim.create_group("Batch")
    add = lambda chunk: scim.patch_ops(  # noqa: E731
        f"/Groups/{group['id']}", {"op": "add", "path": "members", "value": [{"value": i} for i in chunk]}
    )
    first = _queries(lambda: add(ids[:100]))
    second = _queries(lambda: add(ids[100:]))
    assert first == second
    with count_queries(at_most=13):
        scim.patch_ops(
            f"/Groups/{group['id']}",
            *[{"op": "remove", "path": f'members[value eq "{i}"]'} for i in ids[:1]],
        )


def test_user_patch_query_count(scim):
    user = scim.create_user("q@acme.test", emails=[{"value": "q@acme.test", "type": "work"}])
    with count_queries(at_most=14):
        r = scim.patch_ops(
            f"/Users/{user['id']}",
            {"op": "replace", "path": "displayName", "value": "Q"},
            {"op": "replace", "path": 'emails[type eq "work"].value', "value": "q2@acme.test"},
        )
    assert r.status == 200


def test_excluded_members_never_queries_memberships(scim):
    ids = [scim.create_user(f"x{i}@acme.test")["id"] for i in range(5)]
    group = scim.create_group("NoMembers", ids)
    with count_queries() as queries:
        scim.get(f"/Groups/{group['id']}?excludedAttributes=members")
    assert not queries.touching("directory_membership")


def test_create_filter_and_delete_query_counts(scim):
    scim.create_user("warm@acme.test")  # the first request of a connection also resolves its tenant
    counts = {
        "create": _queries(lambda: scim.create_user("c@acme.test", emails=[{"value": "c@acme.test"}])),
        "filter": _queries(lambda: scim.get('/Users?filter=userName eq "c@acme.test"')),
        "page": _queries(lambda: scim.get("/Users?startIndex=1&count=100")),
    }
    user_id = scim.get('/Users?filter=userName eq "c@acme.test"')["Resources"][0]["id"]
    counts["delete"] = _queries(lambda: scim.delete(f"/Users/{user_id}"))
    # Each includes SET search_path and the token check; writes include the test transaction's
    # savepoint pair around the request's own transaction.
    assert counts["create"] <= 10
    assert counts["filter"] <= 7  # a filter that fits one page needs no COUNT
    assert counts["page"] <= 8
    assert counts["delete"] <= 10


def test_a_create_writes_its_rows_events_and_log_row_in_one_statement(scim, settings):
    settings.ROLLCALL_SCIM_AUTH_CACHE_SECONDS = 60
    scim.create_user("warm@acme.test")  # token verified and cached, its use and the connection's recorded
    with count_queries(include_search_path=False) as queries:
        created = scim.create_user("one@acme.test", emails=[{"value": "one@acme.test", "type": "work"}])
    assert created.status == 201
    # Left out: the savepoint that stands for BEGIN/COMMIT inside the test's own transaction.
    statements = [s for s in queries.statements if "SAVEPOINT" not in s and s not in ("BEGIN", "COMMIT")]
    assert len(statements) == 1, statements
    assert all(table in statements[0] for table in ("directory_directoryuser", "directory_uservalue", "outbox_event", "scim_requestlog"))


def test_a_user_is_read_with_its_groups_in_one_statement(scim):
    member = scim.create_user("member@acme.test")
    loner = scim.create_user("loner@acme.test")
    parent = scim.create_group("Parent")
    child = scim.create_group("Crew", [member["id"]])
    scim.patch_ops(f"/Groups/{parent['id']}", {"op": "add", "path": "members", "value": [{"value": child["id"]}]})
    scim.get(f"/Users/{member['id']}")  # warm: the read's SQL is compiled once per process
    with count_queries(include_search_path=False) as queries:
        read = scim.get(f"/Users/{member['id']}")
    assert {(g["display"], g["type"]) for g in read.body["groups"]} == {("Crew", "direct"), ("Parent", "indirect")}
    reads = [s for s in queries.touching("directory_") if not s.startswith("INSERT")]
    assert len(reads) == 1 and "walk_up" in reads[0]  # the row and its groups together
    listed = scim.get('/Users?filter=userName sw "member"')["Resources"]
    assert {g["display"] for g in listed[0]["groups"]} == {"Crew", "Parent"}
    alone = scim.get(f"/Users/{loner['id']}")
    assert alone.status == 200 and alone.body.get("groups", []) == []


def test_a_change_to_a_user_renders_its_groups_without_a_second_read(scim):
    member = scim.create_user("member2@acme.test")
    scim.create_group("Crew2", [member["id"]])
    with count_queries() as queries:
        patched = scim.patch_ops(f"/Users/{member['id']}", {"op": "replace", "path": "displayName", "value": "M"})
    assert patched.status == 200 and [g["display"] for g in patched.body["groups"]] == ["Crew2"]
    assert len(queries.touching("walk_up")) == 1  # in the locked read
