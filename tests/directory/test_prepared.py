"""Key reads compiled once (directory.prepared) return what the ORM returns."""

from __future__ import annotations

import uuid

import pytest
from django.db import transaction

from directory import selectors
from directory.models import DirectoryGroup, DirectoryUser
from directory.prepared import PkLookup
from tests.support.directory import make_group, make_user
from tests.support.queries import count_queries

pytestmark = pytest.mark.django_db


def _fields(instance) -> dict:  # type: ignore[no-untyped-def]
    return {f.attname: getattr(instance, f.attname) for f in type(instance)._meta.concrete_fields}


def test_a_compiled_read_builds_the_same_user_as_the_orm(tenant_a):
    user = make_user("same@acme.test", title="Engineer", email="same@acme.test")
    loner = make_user("loner@acme.test")
    make_group("Crew", members=[user.pk])
    found = selectors.find_user(str(user.pk), groups=True)
    assert found is not None and _fields(found) == _fields(DirectoryUser.objects.get(pk=user.pk))
    assert [g["display_name"] for g in selectors.groups_in_row(found) or []] == ["Crew"]
    no_groups = selectors.find_user(str(loner.pk), groups=True)
    assert no_groups is not None and selectors.groups_in_row(no_groups) == []
    plain = selectors.find_user(str(loner.pk))
    assert plain is not None and selectors.groups_in_row(plain) is None  # read without them
    assert found._state.adding is False and found._state.db == "default"  # saved like an ORM-loaded row
    assert selectors.find_user(str(uuid.uuid4())) is None and selectors.find_user("not-a-uuid") is None


def test_a_compiled_read_runs_one_statement_and_no_second_compile(tenant_a):
    group = make_group("Once")
    selectors.find_group(str(group.pk))
    with count_queries(include_search_path=False) as queries:
        again = selectors.find_group(str(group.pk))
    assert again is not None and _fields(again) == _fields(DirectoryGroup.objects.get(pk=group.pk))
    assert queries.count == 1 and queries.statements[0].startswith("SELECT")


def test_a_locked_read_locks_the_row(tenant_a):
    user = make_user("locked@acme.test")
    with transaction.atomic(), count_queries() as queries:
        assert selectors.find_user(str(user.pk), for_update=True) is not None
    assert "FOR UPDATE" in queries.statements[-1]


def test_a_queryset_that_is_not_one_key_read_is_refused(tenant_a):
    lookup = PkLookup(DirectoryUser, lambda pk: DirectoryUser.objects.filter(user_name="x"))
    with pytest.raises(ValueError, match="by its key"):
        lookup.get(uuid.uuid4())
