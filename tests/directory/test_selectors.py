"""Directory selectors: lists with filters, storage-catalog sorting and windows, nested groups."""

from __future__ import annotations

import pytest

from directory import selectors
from directory.errors import InvalidValue
from directory.nesting import group_ancestors, groups_of_users, users_under_groups
from scim.errors import UnknownAttribute
from scim.filter import parse_attr_path, parse_filter
from tests.support.directory import make_group, make_user
from tests.support.queries import count_queries

pytestmark = pytest.mark.django_db


def _names(page: selectors.Page) -> list[str]:
    return [u.user_name for u in page.rows]


def test_list_users_filters_sorts_and_pages(tenant_a):
    for name, title in (("cy", "b"), ("ada", "c"), ("bob", "a")):
        make_user(f"{name}@acme.test", title=title)
    spec = selectors.ListSpec(sort_by=parse_attr_path("title"), start_index=1, count=2)
    page = selectors.list_users(spec)
    assert (_names(page), page.total) == (["bob@acme.test", "cy@acme.test"], 3)
    by_name = selectors.list_users(selectors.ListSpec(sort_by=parse_attr_path("userName"), descending=True))
    assert _names(by_name) == ["cy@acme.test", "bob@acme.test", "ada@acme.test"]
    only = selectors.list_users(selectors.ListSpec(filter=parse_filter('emails.value ew "bob@acme.test"')))
    assert _names(only) == ["bob@acme.test"]


def test_sorting_by_a_multi_valued_attribute_uses_the_primary_value(tenant_a):
    make_user("z@acme.test", email="a@x.test")
    make_user("a@acme.test", email="b@x.test")
    page = selectors.list_users(selectors.ListSpec(sort_by=parse_attr_path("emails")))
    assert _names(page) == ["z@acme.test", "a@acme.test"]


def test_a_list_page_costs_the_same_queries_whatever_its_size(tenant_a):
    for i in range(12):
        make_user(f"u{i}@acme.test")
    with count_queries() as small:
        selectors.list_users(selectors.ListSpec(count=2))
    with count_queries() as large:
        selectors.list_users(selectors.ListSpec(count=12))
    assert small.count == large.count == 2  # rows, then the total (the page was full)


def test_members_cannot_be_sorted_and_unknown_attributes_are_named(tenant_a):
    with pytest.raises(InvalidValue):
        selectors.list_groups(selectors.ListSpec(sort_by=parse_attr_path("members")))
    with pytest.raises(UnknownAttribute):
        selectors.list_users(selectors.ListSpec(filter=parse_filter('shoeSize eq "9"')))


def test_nested_groups_are_walked_up_and_down_once_each(tenant_a):
    ada = make_user("ada@acme.test")
    team = make_group("Team", members=[ada.id])
    dept = make_group("Dept", groups=[team.id])
    company = make_group("Company", groups=[dept.id])
    reached = {g["group_id"]: g["direct"] for g in groups_of_users([ada.id])[ada.id]}
    assert reached == {team.id: True, dept.id: False, company.id: False}
    assert group_ancestors(team.id) == {team.id, dept.id, company.id}
    assert users_under_groups([company.id]) == [ada.id]
