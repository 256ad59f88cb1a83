"""Console Operators page: admins list, add, re-role and remove operators; every change is audited."""

from __future__ import annotations

import pytest
from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from tenants.audit import AuditEventType
from tenants.models import AuditEvent, Operator
from tests.console.pages_support import make_operator
from tests.portal.support import password_only_client

pytestmark = pytest.mark.django_db


def test_admin_sees_every_operator_with_role_and_2fa(admin_operator, support_operator) -> None:  # type: ignore[no-untyped-def]
    body = admin_operator.client.get("/console/operators").content.decode()
    assert "admin@ops.example" in body and "support@ops.example" in body and "Enrolled" in body
    assert "2 operators" in body and "(you)" in body
    assert 'aria-label="Remove support@ops.example"' in body and 'aria-label="Remove admin@ops.example"' not in body


def test_support_gets_403_on_the_operators_page(support_operator) -> None:  # type: ignore[no-untyped-def]
    assert support_operator.client.get("/console/operators").status_code == 403
    response = support_operator.client.post("/console/operators", {"action": "add", "add-email": "x@ops.example", "add-role": "admin"})
    assert response.status_code == 403
    assert not Operator.objects.filter(user__username="x@ops.example").exists()
    assert "/console/operators" not in support_operator.client.get("/console/").content.decode()  # no nav link


def test_admin_adds_an_operator_who_must_enrol_totp_at_first_sign_in(admin_operator) -> None:  # type: ignore[no-untyped-def]
    response = admin_operator.client.post("/console/operators", {"action": "add", "add-email": "New@Ops.Example", "add-role": "support"})
    body = response.content.decode()
    assert response.status_code == 200 and "new@ops.example can sign in" in body and "One-time password" in body
    operator = Operator.objects.select_related("user").get(user__username="new@ops.example")
    assert operator.role == Operator.Role.SUPPORT
    assert not TOTPDevice.objects.filter(user=operator.user).exists()
    password = body.split('id="operator-password"')[1].split('value="')[1].split('"')[0]
    assert operator.user.check_password(password)
    assert password_only_client(operator.user).get("/console/")["Location"] == "/console/enrol"
    event = AuditEvent.objects.get(type=AuditEventType.OPERATOR_CREATED)
    assert event.data == {"email": "new@ops.example", "role": "support"} and event.actor_id == str(admin_operator.operator.user_id)
    assert password not in str(event.data)


def test_adding_an_operator_shows_field_errors(admin_operator, support_operator) -> None:  # type: ignore[no-untyped-def]
    bad = admin_operator.client.post("/console/operators", {"action": "add", "add-email": "not-an-email", "add-role": "support"})
    assert bad.status_code == 400 and 'id="id_add-email_error"' in bad.content.decode()
    taken = admin_operator.client.post("/console/operators", {"action": "add", "add-email": "support@ops.example", "add-role": "admin"})
    assert taken.status_code == 400 and "already exists" in taken.content.decode()
    role = admin_operator.client.post("/console/operators", {"action": "add", "add-email": "r@ops.example", "add-role": "root"})
    assert role.status_code == 400 and 'id="id_add-role_error"' in role.content.decode()
    assert not AuditEvent.objects.filter(type=AuditEventType.OPERATOR_CREATED).exists()


def test_admin_changes_a_role_and_it_is_audited(admin_operator, support_operator) -> None:  # type: ignore[no-untyped-def]
    target = support_operator.operator
    response = admin_operator.client.post("/console/operators", {"action": "role", "operator": target.pk, "role": "admin"})
    assert "support@ops.example is now admin." in response.content.decode()
    target.refresh_from_db()
    target.user.refresh_from_db()
    assert target.role == Operator.Role.ADMIN and target.user.is_staff
    event = AuditEvent.objects.get(type=AuditEventType.OPERATOR_ROLE_CHANGED)
    assert event.data["from"] == "support" and event.data["to"] == "admin" and event.target_id == str(target.pk)


def test_the_last_admin_cannot_be_demoted_or_removed_and_nobody_changes_themselves(admin_operator) -> None:  # type: ignore[no-untyped-def]
    me = admin_operator.operator
    own = admin_operator.client.post("/console/operators", {"action": "role", "operator": me.pk, "role": "support"})
    assert own.status_code == 400 and "your own role" in own.content.decode()
    self_remove = admin_operator.client.post("/console/operators", {"action": "remove", "operator": me.pk})
    assert self_remove.status_code == 400 and "cannot remove yourself" in self_remove.content.decode()
    # With a second admin, one may demote the other: an admin is left.
    other = make_operator(Operator.Role.ADMIN, name="other")
    demote = other.client.post("/console/operators", {"action": "role", "operator": me.pk, "role": "support"})
    assert demote.status_code == 200
    me.refresh_from_db()
    assert me.role == Operator.Role.SUPPORT
    assert Operator.objects.filter(role=Operator.Role.ADMIN).count() == 1


def test_the_last_admin_is_never_removed_by_the_service(admin_operator) -> None:  # type: ignore[no-untyped-def]
    from tenants import operators
    from tenants.services import TenantError
    from tests.support.actors import TEST_ACTOR

    with pytest.raises(TenantError, match="last admin"):
        operators.remove_operator(operator_id=admin_operator.operator.pk, actor=TEST_ACTOR)
    with pytest.raises(TenantError, match="last admin"):
        operators.change_operator_role(operator_id=admin_operator.operator.pk, role="support", actor=TEST_ACTOR)


def test_admin_removes_an_operator_who_then_cannot_sign_in(admin_operator, support_operator) -> None:  # type: ignore[no-untyped-def]
    target = support_operator.operator
    response = admin_operator.client.post("/console/operators", {"action": "remove", "operator": target.pk})
    assert "Removed support@ops.example" in response.content.decode()
    assert not Operator.objects.filter(pk=target.pk).exists()
    assert AuditEvent.objects.get(type=AuditEventType.OPERATOR_REMOVED).data == {"email": "support@ops.example", "role": "support"}
    assert Client().login(username="support@ops.example", password="correct horse battery staple") is False
    table = admin_operator.client.get("/console/operators").content.decode().split("<tbody>")[1].split("</tbody>")[0]
    assert "support@ops.example" not in table and "1 operator<" in admin_operator.client.get("/console/operators").content.decode()


def test_bad_operator_actions_are_messages(admin_operator) -> None:  # type: ignore[no-untyped-def]
    assert admin_operator.client.post("/console/operators", {"action": "remove", "operator": "abc"}).status_code == 400
    gone = admin_operator.client.post("/console/operators", {"action": "remove", "operator": 999999})
    assert gone.status_code == 400 and "no longer exists" in gone.content.decode()
    assert admin_operator.client.post("/console/operators", {"action": "role", "operator": "1", "role": "root"}).status_code == 400
    assert admin_operator.client.post("/console/operators", {"action": "dance"}).status_code == 400
