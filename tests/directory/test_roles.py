"""Effective role = highest precedence among roles mapped from a user's groups (nested included)."""

from __future__ import annotations

import pytest

from directory.models import RoleGrant
from directory.roles import billable_seats, recompute_for_group, seat_counts
from outbox.event_types import EventType
from outbox.models import Event
from tenants.context import tenant_schema
from tenants.models import Tenant
from tests.provisioning.support import (
    change_members,
    count_queries,
    drain,
    make_group,
    make_user,
    map_group,
    remove_group,
    remove_user,
    set_active,
)

pytestmark = pytest.mark.django_db


def role_of(user) -> str | None:
    grant = RoleGrant.objects.filter(user_id=user.id).select_related("role").first()
    return grant.role.key if grant else None


def role_events(user) -> list[tuple[str | None, str | None]]:
    return [
        (e.payload["previous_role"], e.payload["role"])
        for e in Event.objects.filter(type=EventType.ROLE_CHANGED, resource_id=str(user.id)).order_by("seq")
    ]


def seats() -> dict[str, int]:
    return {s.role: s.seats for s in seat_counts()}


def test_highest_precedence_role_wins_through_nested_groups(acme):
    with tenant_schema(acme):
        ada = make_user("ada@acme.test")
        viewers = make_group("Everyone", members=[ada.id])
        admins_inner = make_group("Platform")
        admins = make_group("Admins", groups=[admins_inner.id])
        map_group(viewers, "viewer")
        map_group(admins, "admin")
        drain(acme)
        assert role_of(ada) == "viewer"

        change_members(admins_inner.id, "add", ada.id)  # admin via Platform -> Admins (nested)
        drain(acme)
        assert role_of(ada) == "admin"
        assert RoleGrant.objects.get(user_id=ada.id).source == f"group:{admins.id}"

        change_members(admins_inner.id, "remove", ada.id)
        drain(acme)
        assert role_of(ada) == "viewer"
        assert role_events(ada) == [(None, "viewer"), ("viewer", "admin"), ("admin", "viewer")]


def test_role_changed_is_emitted_only_when_the_effective_role_changes(acme):
    with tenant_schema(acme):
        ada = make_user("ada@acme.test")
        editors_a = make_group("Editors A")
        editors_b = make_group("Editors B")
        map_group(editors_a, "editor")
        map_group(editors_b, "editor")
        change_members(editors_a.id, "add", ada.id)
        change_members(editors_b.id, "add", ada.id)  # same role through a second group: no event
        change_members(editors_a.id, "remove", ada.id)  # still editor through B: no event
        drain(acme)
        assert role_events(ada) == [(None, "editor")]
        assert role_of(ada) == "editor"


def test_default_role_applies_to_users_without_mapped_groups(acme):
    Tenant.objects.filter(id=acme.id).update(settings={"default_role": "viewer"})
    with tenant_schema(acme):
        ada = make_user("ada@acme.test")
        drain(acme)
        assert role_of(ada) == "viewer"
        assert RoleGrant.objects.get(user_id=ada.id).source == "default"


def test_seats_count_billable_roles_and_deactivated_users_hold_none(acme, bravo):
    with tenant_schema(acme):
        users = [make_user(f"u{i}@acme.test") for i in range(4)]
        admins, editors, viewers = make_group("Admins"), make_group("Editors"), make_group("Viewers")
        map_group(admins, "admin")
        map_group(editors, "editor")
        map_group(viewers, "viewer")
        change_members(admins.id, "add", users[0].id)
        change_members(editors.id, "add", users[1].id)
        change_members(editors.id, "add", users[2].id)
        change_members(viewers.id, "add", users[3].id)
        drain(acme)
        assert seats() == {"viewer": 1, "editor": 2, "admin": 1}
        assert billable_seats() == 3

        set_active(users[1].id, False)
        drain(acme)
        assert role_of(users[1]) is None
        assert seats()["editor"] == 1 and billable_seats() == 2

        set_active(users[1].id, True)  # reactivation: the grant comes back from the groups
        drain(acme)
        assert role_of(users[1]) == "editor" and billable_seats() == 3
    with tenant_schema(bravo):
        assert billable_seats() == 0  # the other tenant sees none of it


def test_deleting_a_mapped_parent_group_recomputes_nested_members(acme):
    with tenant_schema(acme):
        ada = make_user("ada@acme.test")
        team = make_group("Team", members=[ada.id])
        parent = make_group("Admins", groups=[team.id])
        map_group(parent, "admin")
        recompute_for_group(parent.id, tenant=acme, actor=_actor())
        assert role_of(ada) == "admin"
        remove_group(parent.id)
        drain(acme)
        assert role_of(ada) is None
        assert role_events(ada)[-1] == ("admin", None)


def test_deleted_user_announces_the_loss_of_its_last_role(acme):
    with tenant_schema(acme):
        ada = make_user("ada@acme.test")
        admins = make_group("Admins")
        map_group(admins, "admin")
        change_members(admins.id, "add", ada.id)
        drain(acme)
        remove_user(ada.id)
        drain(acme)
        assert role_events(ada) == [(None, "admin"), ("admin", None)]
        assert billable_seats() == 0


def test_recompute_query_count_does_not_grow_with_the_number_of_users(acme):
    from directory.roles import recompute_roles

    with tenant_schema(acme):
        users = [make_user(f"q{i}@acme.test") for i in range(30)]
        group = make_group("Admins", members=[u.id for u in users])
        map_group(group, "admin")
        with count_queries(at_most=5, include_search_path=False):  # targets, upsert, users for the payloads, seq, events
            changes = recompute_roles([u.id for u in users], tenant=acme, actor=_actor())
        assert len(changes) == 30


def _actor():
    from outbox.append import Actor

    return Actor(kind="portal", id="test-admin")


def test_a_late_handler_converges_on_the_current_state_without_flapping(acme):
    """Handlers read the directory as it is when they run: a membership added and the user
    deactivated before the pipeline catches up yields no grant and no role.changed at all."""
    with tenant_schema(acme):
        ada = make_user("ada@acme.test")
        editors = make_group("Editors")
        map_group(editors, "editor")
        change_members(editors.id, "add", ada.id)
        set_active(ada.id, False)
        drain(acme)
        assert role_of(ada) is None and role_events(ada) == []


# --------------------------------------------------------------------------- editing mappings and roles


def test_mapping_a_group_appends_one_event_and_the_pipeline_grants_the_role(acme):
    from directory.roles import map_group_to_role, unmap_group
    from tests.support.outbox import capture_outbox

    with tenant_schema(acme):
        ada = make_user("ada@acme.test")
        team = make_group("Team", members=[ada.id])
        with capture_outbox(types=("role.mapping_changed",)) as events:
            map_group_to_role(group_id=team.id, role_key="editor", actor=_actor())
        assert events[0].payload == {"group_id": str(team.id), "role": "editor", "previous_role": None}
        assert role_of(ada) is None  # the recompute is the pipeline's, never the request's
        drain(acme)
        assert role_of(ada) == "editor"
        with capture_outbox(expected=0):
            map_group_to_role(group_id=team.id, role_key="editor", actor=_actor())  # unchanged: no event
        assert unmap_group(group_id=team.id, actor=_actor()) is True
        drain(acme)
        assert role_of(ada) is None
        assert unmap_group(group_id=team.id, actor=_actor()) is False


def test_manual_grants_survive_mapping_changes_but_not_offboarding(acme):
    from directory.roles import grant_role_manually, map_group_to_role

    with tenant_schema(acme):
        ada = make_user("ada@acme.test")
        team = make_group("Team", members=[ada.id])
        grant_role_manually(user_id=ada.id, role_key="admin", tenant=acme, actor=_actor())
        map_group_to_role(group_id=team.id, role_key="viewer", actor=_actor())
        drain(acme)
        assert role_of(ada) == "admin" and RoleGrant.objects.get(user_id=ada.id).source == "manual"
        set_active(ada.id, False)
        drain(acme)
        assert role_of(ada) is None


def test_custom_roles_are_validated_and_reordering_sets_precedence(acme):
    from directory.errors import InvalidValue
    from directory.models import Role
    from directory.roles import create_role, reorder_roles

    with tenant_schema(acme):
        support = create_role(key="support", name="Support agent", billable=True, actor=_actor())
        assert support.precedence < Role.objects.get(key="viewer").precedence
        for key, name in (("support", "Dup"), ("Bad Key", "x"), ("ok", "  ")):
            with pytest.raises(InvalidValue):
                create_role(key=key, name=name, billable=False, actor=_actor())
        ordered = reorder_roles(keys=["support", "admin", "editor", "viewer"], actor=_actor())
        assert [r.key for r in ordered] == ["support", "admin", "editor", "viewer"]
        with pytest.raises(InvalidValue):
            reorder_roles(keys=["admin", "viewer"], actor=_actor())


def test_seat_preview_counts_roles_from_real_memberships_before_saving(acme):
    from directory.roles import preview_seats

    with tenant_schema(acme):
        users = [make_user(f"s{i}@acme.test") for i in range(4)]
        admins = make_group("Admins", members=[users[0].id])
        eng = make_group("Eng", members=[u.id for u in users[:3]])
        map_group(eng, "editor")
        drain(acme)
        preview = preview_seats({str(admins.id): "admin", str(eng.id): "editor"}, default_role="viewer")
        rows = {r.role: (r.now, r.proposed) for r in preview.rows}
        assert rows == {"admin": (0, 1), "editor": (3, 2), "viewer": (0, 1)}
        assert (preview.billable_now, preview.billable_proposed) == (3, 3)
        assert (preview.users_changing, preview.users_losing_role, preview.needs_confirmation) == (2, 0, False)
        unmapped = preview_seats({}, default_role=None)
        assert unmapped.users_losing_role == 3 and unmapped.needs_confirmation  # 3 of 4 users lose their role
        assert role_of(users[0]) == "editor"  # nothing was written


def test_changing_the_default_role_recomputes_everyone_in_the_pipeline(acme, tenant_a):
    from directory.roles import set_default_role
    from tests.support.outbox import capture_outbox

    with tenant_schema(acme):
        ada = make_user("ada@acme.test")
        drain(acme)
        assert role_of(ada) is None
        with capture_outbox(types=("role.mapping_changed",)):
            set_default_role(tenant=tenant_a, role_key="viewer", actor=_actor())
        drain(acme)
        assert role_of(ada) == "viewer" and RoleGrant.objects.get(user_id=ada.id).source == "default"
        set_default_role(tenant=tenant_a, role_key=None, actor=_actor())
        drain(acme)
        assert role_of(ada) is None
    tenant_a.refresh_from_db()
    assert "default_role" not in tenant_a.settings
