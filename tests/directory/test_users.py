"""User services: what each writes, which events it appends, and how it refuses bad changes."""

from __future__ import annotations

import pytest

from directory.change import ChangeContext
from directory.errors import Conflict, InvalidValue, NotFound, VersionMismatch
from directory.models import DirectoryUser, UserValue
from directory.users import create_user, deactivate_user, delete_user, reactivate_user, update_user
from outbox.append import Actor
from tests.support.directory import make_user, scim_ctx
from tests.support.outbox import capture_outbox

pytestmark = pytest.mark.django_db
PORTAL = ChangeContext(actor=Actor(kind="portal", id="admin-1"))


def test_create_user_appends_user_created_with_the_mapped_fields(tenant_a):
    with capture_outbox(expected=1, types=("user.created",)) as events:
        user = make_user("ada@acme.test", title="Engineer")
    assert events[0].payload["user"]["email"] == "ada@acme.test"
    assert events[0].payload["user"]["title"] == "Engineer"
    assert events[0].actor == "scim:test-connection"
    assert UserValue.objects.filter(user=user, attribute="emails").count() == 1


def test_a_user_name_in_use_in_any_case_is_a_conflict_and_writes_nothing(tenant_a):
    make_user("ada@acme.test")
    with capture_outbox(expected=0), pytest.raises(Conflict) as raised:
        make_user("ADA@acme.test")
    assert raised.value.field == "userName"
    assert DirectoryUser.objects.count() == 1


def test_a_user_name_longer_than_its_column_is_invalid_value(tenant_a):
    with pytest.raises(InvalidValue) as raised:
        create_user(resource={"userName": "x" * 513}, ctx=scim_ctx())
    assert raised.value.field == "userName"


def test_update_with_the_same_document_changes_nothing(tenant_a):
    user = make_user("ada@acme.test")
    with capture_outbox(expected=0):
        same = update_user(user_id=user.id, change=lambda doc: doc, ctx=scim_ctx())
    assert same.version == user.version


def test_update_appends_user_updated_naming_changed_attributes_and_fields(tenant_a):
    user = make_user("ada@acme.test")
    with capture_outbox(types=("user.updated",)) as events:
        updated = update_user(user_id=user.id, change=lambda doc: {**doc, "title": "CTO"}, ctx=scim_ctx())
    assert updated.version == user.version + 1 and updated.title == "CTO"
    assert events[0].payload["changed"] == ["title"]
    assert events[0].payload["changed_fields"] == ["title"]


def test_an_expected_version_that_is_not_current_is_refused(tenant_a):
    user = make_user("ada@acme.test")
    with pytest.raises(VersionMismatch) as raised:
        update_user(user_id=user.id, change=lambda doc: {**doc, "title": "x"}, ctx=scim_ctx(), expected_version=99)
    assert raised.value.current == user.version
    assert DirectoryUser.objects.get(pk=user.id).title == ""
    update_user(user_id=user.id, change=lambda doc: {**doc, "title": "x"}, ctx=scim_ctx(), expected_version=frozenset({user.version}))


def test_deactivate_and_reactivate_are_services_of_their_own(tenant_a):
    user = make_user("ada@acme.test")
    with capture_outbox(types=("user.deactivated",)):
        gone = deactivate_user(user_id=user.id, ctx=PORTAL)
    assert not gone.active and gone.deactivated_at is not None
    with capture_outbox(expected=0):  # already inactive: a no-op
        deactivate_user(user_id=user.id, ctx=PORTAL)
    with capture_outbox(types=("user.reactivated",)) as events:
        back = reactivate_user(user_id=user.id, ctx=PORTAL)
    assert back.active and back.deactivated_at is None
    assert events[0].actor == "portal:admin-1"


def test_services_name_what_they_cannot_find(tenant_a):
    with pytest.raises(NotFound) as raised:
        deactivate_user(user_id="00000000-0000-0000-0000-000000000000", ctx=PORTAL)
    assert (raised.value.kind, raised.value.identifier) == ("User", "00000000-0000-0000-0000-000000000000")
    with pytest.raises(NotFound):
        delete_user(user_id="not-a-uuid", ctx=PORTAL)


def test_delete_appends_user_deleted_with_the_groups_it_was_in(tenant_a):
    from tests.support.directory import make_group

    user = make_user("ada@acme.test")
    group = make_group("Team", members=[user.id])
    with capture_outbox(types=("user.deleted",)) as events:
        delete_user(user_id=user.id, ctx=PORTAL)
    assert events[0].payload["groups"] == [str(group.id)]
    assert not DirectoryUser.objects.exists()
