"""Attribute mapping: common mapping + IdP overrides + tenant choices, previewed before it applies."""

from __future__ import annotations

import pytest

from directory.attribute_mappings import (
    effective_mapping,
    preview_attribute_mapping,
    profile_defaults,
    remap_users,
    set_attribute_mapping,
)
from directory.errors import InvalidValue
from directory.mapping import COMMON_MAPPING, custom_field, map_user
from directory.models import AttributeMapping, DirectoryUser
from directory.payloads import user_payload
from outbox.append import Actor
from tests.support.directory import make_user
from tests.support.outbox import capture_outbox

pytestmark = pytest.mark.django_db
ADMIN = Actor(kind="portal", id="admin-1")


def test_profile_defaults_are_the_common_mapping_with_the_idps_overrides():
    entra = profile_defaults("entra")
    assert entra["email"] == 'emails[type eq "work"].value'
    assert entra["locale"] == "preferredLanguage"
    assert entra["given_name"] == COMMON_MAPPING["given_name"]
    assert profile_defaults("generic") == COMMON_MAPPING


def test_preview_shows_changed_fields_and_users_and_writes_nothing(tenant_a):
    make_user("ada@acme.test", title="Engineer")
    make_user("bob@acme.test")
    with capture_outbox(expected=0):
        preview = preview_attribute_mapping(idp="generic", mapping={"department": "title"})
    assert [(c.field, c.after) for c in preview.changes] == [("department", "title")]
    assert (preview.users_total, preview.users_changing, preview.exact) == (2, 1, True)
    assert preview.samples[0].user_name == "ada@acme.test"
    assert (preview.samples[0].before["department"], preview.samples[0].after["department"]) == ("", "Engineer")
    assert not AttributeMapping.objects.exists()


def test_setting_a_mapping_saves_it_and_remapping_updates_each_changed_user_once(tenant_a):
    ada = make_user("ada@acme.test", title="Engineer")
    make_user("bob@acme.test")
    set_attribute_mapping(idp="generic", mapping={"department": "title"}, actor=ADMIN)
    assert effective_mapping("generic")["department"] == "title"
    with capture_outbox(types=("user.updated",)) as events:
        progress = remap_users(idp="generic", actor=ADMIN, limit=10)
    assert (progress.examined, progress.changed, progress.last_id) == (2, 1, None)
    assert events[0].payload["changed_fields"] == ["department"]
    assert events[0].payload["cause"] == "attribute_mapping"
    refreshed = DirectoryUser.objects.get(pk=ada.id)
    assert refreshed.department == "Engineer" and refreshed.version == ada.version  # the SCIM document is unchanged


def test_remapping_goes_in_batches(tenant_a):
    for i in range(5):
        make_user(f"u{i}@acme.test", title=f"t{i}")
    set_attribute_mapping(idp="generic", mapping={"department": "title"}, actor=ADMIN)
    first = remap_users(idp="generic", actor=ADMIN, limit=3)
    assert first.examined == 3 and first.last_id is not None
    rest = remap_users(idp="generic", actor=ADMIN, after_id=first.last_id, limit=3)
    assert rest.examined == 2 and rest.last_id is None
    assert sorted(DirectoryUser.objects.values_list("department", flat=True)) == [f"t{i}" for i in range(5)]


def test_choosing_the_default_path_again_removes_the_tenants_override(tenant_a):
    set_attribute_mapping(idp="generic", mapping={"title": "displayName"}, actor=ADMIN)
    assert AttributeMapping.objects.count() == 1
    set_attribute_mapping(idp="generic", mapping={"title": "title"}, actor=ADMIN)
    assert not AttributeMapping.objects.exists()


def test_custom_fields_are_kept_in_extra_fields_and_reach_the_payload(tenant_a):
    set_attribute_mapping(idp="generic", mapping={"custom.nick": "nickName"}, actor=ADMIN)
    user = make_user("ada@acme.test")
    assert user.extra_fields == {}
    from directory.users import update_user
    from tests.support.directory import scim_ctx

    updated = update_user(user_id=user.id, change=lambda doc: {**doc, "nickName": "Countess"}, ctx=scim_ctx())
    assert updated.extra_fields == {"custom.nick": "Countess"}
    assert user_payload(updated)["custom.nick"] == "Countess"
    assert custom_field("custom.nick").label == "Nick"


@pytest.mark.parametrize(
    ("mapping", "field"),
    [({"shoe_size": "title"}, "shoe_size"), ({"title": "emails[type eq"}, "title")],
)
def test_unknown_fields_and_unparseable_paths_are_refused(tenant_a, mapping, field):
    with pytest.raises(InvalidValue) as raised:
        preview_attribute_mapping(idp="generic", mapping=mapping)
    assert raised.value.field == field


def test_map_user_reads_primary_values_and_bounds_lengths():
    resource = {
        "userName": "ada@acme.test",
        "emails": [{"value": "home@x.test"}, {"value": "work@x.test", "primary": True}],
        "title": "t" * 600,
    }
    fields = map_user(resource, COMMON_MAPPING)
    assert fields["email"] == "work@x.test"
    assert len(fields["title"]) == 255


def test_a_new_custom_field_that_stays_empty_changes_nobody_in_the_preview(acme) -> None:
    from directory.attribute_mappings import preview_attribute_mapping
    from tests.support.directory import make_user

    make_user("ada@acme.test")
    preview = preview_attribute_mapping(
        idp="generic", mapping={"custom.division": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:division"}
    )
    assert preview.changes and preview.users_changing == 0
