"""Admin notifications: unmapped groups, error-rate spikes, expiring tokens; deduplicated."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from provisioning.models import Notification
from provisioning.notifications import check_expiring_tokens, raise_notification
from tenants.context import TenantRef, tenant_schema
from tenants.models import ScimConnection, ScimToken, Tenant
from tenants.services import create_connection, rotate_token
from tests.provisioning.support import drain, make_group, map_group, send_mail
from tests.support.actors import TEST_ACTOR

pytestmark = pytest.mark.django_db
ADMINS = {"admin_emails": ["it@acme.test", "sec@acme.test"]}


@pytest.fixture
def acme_admins(acme) -> TenantRef:
    Tenant.objects.filter(id=acme.id).update(settings=ADMINS)
    return TenantRef(**{**acme.__dict__, "settings": ADMINS})


def test_unmapped_group_notifies_admins_once(acme_admins, mailoutbox):
    with tenant_schema(acme_admins):
        make_group("Contractors")
        mapped = make_group("Engineering")
        map_group(mapped, "editor")
        drain(acme_admins)
        (note,) = Notification.objects.all()
    assert note.kind == Notification.Kind.UNMAPPED_GROUP
    assert note.title == "Group 'Contractors' is not mapped to a role"
    assert note.read_at is None and note.emailed_at is not None
    (message,) = mailoutbox
    assert message.to == ["it@acme.test", "sec@acme.test"]
    assert "Contractors" in message.subject and "not mapped" in message.body


def test_repeated_notification_is_bumped_not_duplicated_and_emailed_after_cooldown(acme_admins, mailoutbox):
    with tenant_schema(acme_admins):
        for _ in range(3):
            raise_notification(
                tenant=acme_admins,
                kind=Notification.Kind.WEBHOOK_FAILING,
                key="webhook_failing:x",
                title="failing",
                body="b",
                cooldown=timedelta(hours=1),
            )
        note = Notification.objects.get()
        send_mail(acme_admins)
        assert note.occurrences == 3 and len(mailoutbox) == 1
        Notification.objects.update(emailed_at=timezone.now() - timedelta(hours=2), read_at=timezone.now())
        raise_notification(
            tenant=acme_admins,
            kind=Notification.Kind.WEBHOOK_FAILING,
            key="webhook_failing:x",
            title="failing",
            body="b",
            cooldown=timedelta(hours=1),
        )
        note.refresh_from_db()
    send_mail(acme_admins)
    assert len(mailoutbox) == 2 and note.read_at is None and note.occurrences == 4


def test_expiring_token_warns_once_but_not_while_it_is_being_rotated_out(acme_admins, tenant_b, mailoutbox):
    issued = create_connection(tenant=Tenant.objects.get(id=acme_admins.id), idp="okta", actor=TEST_ACTOR)
    token = ScimToken.objects.get(connection=issued.connection)
    ScimToken.objects.filter(id=token.id).update(expires_at=timezone.now() + timedelta(days=3))
    far = create_connection(tenant=tenant_b, idp="okta", actor=TEST_ACTOR)
    ScimToken.objects.filter(connection=far.connection).update(expires_at=timezone.now() + timedelta(days=30))

    assert check_expiring_tokens() == 1
    assert check_expiring_tokens() == 1  # bumped, not re-emailed
    with tenant_schema(acme_admins):
        note = Notification.objects.get(kind=Notification.Kind.TOKEN_EXPIRING)
        assert note.occurrences == 2 and token.prefix in note.title
    send_mail(acme_admins)
    assert len(mailoutbox) == 1

    rotating = create_connection(tenant=Tenant.objects.get(id=acme_admins.id), idp="entra", actor=TEST_ACTOR)
    rotate_token(connection=ScimConnection.objects.get(id=rotating.connection.id), actor=TEST_ACTOR)  # old one: 24 h overlap
    assert check_expiring_tokens() == 1  # only the first connection's token, not the rotated one
