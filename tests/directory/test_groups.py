"""Group services: membership as set operations, refused members, cycles, names."""

from __future__ import annotations

import uuid

import pytest

from directory.errors import CircularMembership, Conflict, InvalidMembers
from directory.groups import update_group
from directory.models import Membership
from scim.patch import MemberChange
from tests.support.directory import make_group, make_user, scim_ctx
from tests.support.outbox import capture_outbox

pytestmark = pytest.mark.django_db


def _add(*ids: object, kind: str = "User") -> MemberChange:
    return MemberChange(kind="add", members=tuple({"value": str(i), "type": kind} for i in ids))


def test_adding_members_appends_one_event_per_member_and_repeats_change_nothing(tenant_a):
    ada, bob = make_user("ada@acme.test"), make_user("bob@acme.test")
    group = make_group("Team")
    with capture_outbox(types=("group.member_added", "group.member_added")):
        changed = update_group(group_id=group.id, ctx=scim_ctx(), member_changes=[_add(ada.id, bob.id)])
    assert changed.version == group.version + 1
    with capture_outbox(expected=0):
        again = update_group(group_id=group.id, ctx=scim_ctx(), member_changes=[_add(ada.id)])
    assert again.version == changed.version


def test_unknown_members_are_refused_and_nothing_is_added(tenant_a):
    ada = make_user("ada@acme.test")
    group = make_group("Team")
    missing = str(uuid.uuid4())
    with pytest.raises(InvalidMembers) as raised:
        update_group(group_id=group.id, ctx=scim_ctx(), member_changes=[_add(ada.id, missing)])
    assert raised.value.ids == [missing]
    assert not Membership.objects.exists()


def test_a_group_cannot_contain_itself_through_nesting(tenant_a):
    outer = make_group("Outer")
    inner = make_group("Inner", groups=[outer.id])
    with pytest.raises(CircularMembership) as raised:
        update_group(group_id=outer.id, ctx=scim_ctx(), member_changes=[_add(inner.id, kind="Group")])
    assert raised.value.ids == [str(inner.id)]


def test_replace_members_computes_the_difference(tenant_a):
    ada, bob, cy = (make_user(f"{n}@acme.test") for n in ("ada", "bob", "cy"))
    group = make_group("Team", members=[ada.id, bob.id])
    replace = MemberChange(kind="replace", members=({"value": str(bob.id)}, {"value": str(cy.id)}))
    with capture_outbox(types=("group.member_added", "group.member_removed")) as events:
        update_group(group_id=group.id, ctx=scim_ctx(), member_changes=[replace])
    assert events[0].payload["member"]["id"] == str(cy.id)
    assert events[1].payload["member"]["id"] == str(ada.id)
    assert set(Membership.objects.values_list("user_id", flat=True)) == {bob.id, cy.id}


def test_a_display_name_in_use_is_a_conflict(tenant_a):
    make_group("Team")
    with pytest.raises(Conflict) as raised:
        make_group("TEAM")
    assert raised.value.field == "displayName"
