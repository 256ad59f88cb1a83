"""The portal's directory lists: filters, keyset paging, and query plans that stay index scans.

With a handful of rows PostgreSQL would rather scan the table, so each plan is read with sequential
scans priced out (`enable_seqscan = off`): a query shape no index can answer still shows a Seq Scan
then, so these fail if a filter or the order loses its index. bench/portal_directory.py measures the
same pages at 1,000 and 100,000 users."""

from __future__ import annotations

import pytest
from django.db import connection
from django.db.models.functions import Lower

from directory import roles
from directory.listing import NO_ROLE, UserFilter, group_page, user_page, user_page_queryset
from directory.models import DirectoryUser
from tests.support.directory import ADMIN, make_group, make_user
from tests.support.queries import count_queries

pytestmark = pytest.mark.django_db


def _plan(qs) -> str:  # type: ignore[no-untyped-def]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")
    return qs.explain()


def test_pages_are_keyset_paged_newest_first_and_cover_everyone_once(acme) -> None:
    made = [make_user(f"u{n:02d}@acme.test").pk for n in range(7)]
    seen: list = []
    cursor = ""
    while True:
        page = user_page(UserFilter(), cursor=cursor, limit=3)
        seen += [r.user.pk for r in page.rows]
        assert page.total == 7
        if not page.next_cursor:
            break
        cursor = page.next_cursor
    assert seen == made[::-1]


def test_filters_by_status_role_group_and_search(acme) -> None:
    ada, bob, cy = (make_user(f"{n}@acme.test", given=n.title()) for n in ("ada", "bob", "cy"))
    group = make_group("Staff", [ada.pk, bob.pk])
    roles.grant_role_manually(user_id=ada.pk, role_key="admin", tenant=acme, actor=ADMIN)
    from tests.support.directory import set_active

    set_active(cy.pk, False)
    names = lambda f: {r.user.user_name for r in user_page(f).rows}  # noqa: E731
    assert names(UserFilter(active=False)) == {"cy@acme.test"}
    assert names(UserFilter(role="admin")) == {"ada@acme.test"}
    assert names(UserFilter(role=NO_ROLE)) == {"bob@acme.test", "cy@acme.test"}
    assert names(UserFilter(group_id=group.pk)) == {"ada@acme.test", "bob@acme.test"}
    assert names(UserFilter(q="BO")) == {"bob@acme.test"}
    assert names(UserFilter(q="50%")) == set()  # LIKE wildcards are literal
    assert names(UserFilter(q=str(cy.pk))) == {"cy@acme.test"}


@pytest.mark.parametrize(
    "filters",
    [UserFilter(), UserFilter(connection_id="conn-1"), UserFilter(kind=DirectoryUser.Kind.AGENT)],
    ids=["everyone", "one-connection", "agents"],
)
def test_a_page_is_an_index_range_without_a_sort(acme, filters) -> None:  # type: ignore[no-untyped-def]
    for n in range(3):
        make_user(f"p{n}@acme.test")
    first = user_page(filters if filters.kind == DirectoryUser.Kind.HUMAN and not filters.connection_id else UserFilter(), limit=1)
    for cursor in ("", first.next_cursor):
        qs, _ = user_page_queryset(filters, cursor=cursor)
        plan = _plan(qs)
        assert "Index Scan" in plan and "Seq Scan on directory_directoryuser" not in plan, plan
        assert "Sort" not in plan.split("->")[0] and "Sort Key" not in plan, plan  # rows come in index order


@pytest.mark.parametrize(
    ("column", "index"),
    [("user_name", "dir_user_username_prefix"), ("email", "dir_user_email_prefix"), ("display_name", "dir_user_display_prefix")],
)
def test_each_search_predicate_is_a_prefix_index_range(acme, column, index) -> None:  # type: ignore[no-untyped-def]
    """The search's LIKE 'x%' on lower(column) matches the text_pattern_ops index expression (the
    planner combines them in a BitmapOr once the table is large; bench/portal_directory.py)."""
    make_user("jane@acme.test")
    qs = DirectoryUser.objects.alias(v=Lower(column)).filter(v__startswith="jan").only("id")
    plan = _plan(qs)
    assert index in plan and "Index Cond" in plan, plan


def test_a_page_runs_two_queries_whatever_its_size(acme) -> None:
    for n in range(30):
        make_user(f"q{n}@acme.test")
    with count_queries(at_most=2):
        user_page(UserFilter(), limit=25)
    with count_queries(at_most=2):
        group_page("")
