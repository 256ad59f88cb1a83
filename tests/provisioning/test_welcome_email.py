"""Welcome email: the real message, once per user, only to active humans, templated per tenant."""

from __future__ import annotations

import pytest

from directory.models import DirectoryUser
from provisioning.models import OutboundEmail
from tenants.context import tenant_schema
from tenants.models import Tenant
from tests.provisioning.support import drain, make_user, set_active

pytestmark = pytest.mark.django_db


def test_new_user_gets_the_default_welcome_email(acme, mailoutbox, settings):
    settings.DEFAULT_FROM_EMAIL = "Rollcall <no-reply@rollcall.test>"
    with tenant_schema(acme):
        make_user("ada@acme.test", email="ada.lovelace@acme.test", given="Ada")
    drain(acme)
    assert len(mailoutbox) == 1
    message = mailoutbox[0]
    assert message.to == ["ada.lovelace@acme.test"]
    assert message.from_email == "Rollcall <no-reply@rollcall.test>"
    assert message.subject == "Welcome to Rollcall, Ada"
    assert "Hi Ada," in message.body
    assert f"{acme.name} has given you access to Rollcall." in message.body
    assert "ada.lovelace@acme.test" in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and "<strong>Rollcall</strong>" in html


def test_tenant_template_overrides_the_default_and_is_escaped_in_html(acme, mailoutbox):
    Tenant.objects.filter(id=acme.id).update(
        settings={
            "app_name": "Acme Notes",
            "welcome_email": {
                "subject": "{{ first_name }}, your {{ app_name }} account is ready",
                "text": "Hello {{ first_name }} <{{ email }}>, sign in at {{ sign_in_url }}",
                "html": "<p>Hello {{ first_name }}</p>",
            },
            "sign_in_url": "https://notes.acme.test/login",
        }
    )
    with tenant_schema(acme):
        make_user("bob@acme.test", given="<Bob>")
    drain(acme)
    (message,) = mailoutbox
    assert message.subject == "<Bob>, your Acme Notes account is ready"
    assert message.body == "Hello <Bob> <bob@acme.test>, sign in at https://notes.acme.test/login"
    assert message.alternatives[0][0] == "<p>Hello &lt;Bob&gt;</p>"


def test_tenant_templates_cannot_include_server_files(acme, mailoutbox):
    Tenant.objects.filter(id=acme.id).update(
        settings={"welcome_email": {"subject": "Hi", "text": '{% include "email/welcome.txt" %}'}}
    )
    with tenant_schema(acme):
        make_user("eve@acme.test")
    result_handled = drain(acme)
    assert result_handled == 0  # the handler failed: the queue waits for a fixed template
    assert mailoutbox == []


def test_agents_inactive_users_and_suppressed_tenants_get_no_welcome(acme, bravo, mailoutbox):
    with tenant_schema(acme):
        agent = make_user("bot@acme.test")
        DirectoryUser.objects.filter(id=agent.id).update(kind=DirectoryUser.Kind.AGENT)
        make_user("dormant@acme.test", active=False)
    drain(acme)
    Tenant.objects.filter(id=bravo.id).update(settings={"suppress_welcome_until_setup_done": True})
    with tenant_schema(bravo):
        make_user("okta-test-user@bravo.test")
    drain(bravo)
    assert mailoutbox == []


def test_welcome_is_sent_once_on_first_activation_not_on_every_reactivation(acme, mailoutbox):
    with tenant_schema(acme):
        dormant = make_user("late@acme.test", active=False)
        drain(acme)
        assert mailoutbox == []
        set_active(dormant.id, True)  # first time active: welcome
        drain(acme)
        set_active(dormant.id, False)
        set_active(dormant.id, True)  # back again: no second welcome
        drain(acme)
        assert OutboundEmail.objects.filter(kind="welcome").count() == 1
    assert [m.to for m in mailoutbox] == [["late@acme.test"]]


def test_a_mail_server_outage_delays_the_welcome_without_blocking_the_queue(acme, settings, mailoutbox):
    from datetime import timedelta

    from django.utils import timezone

    from outbox.models import Event
    from tests.provisioning.support import send_mail

    settings.EMAIL_BACKEND = "tests.provisioning.support.RefusingEmailBackend"
    with tenant_schema(acme):
        make_user("ada@acme.test")
        make_user("bob@acme.test")
    drain(acme)
    with tenant_schema(acme):
        assert not Event.objects.filter(handled_at__isnull=True).exists()  # the events moved on
        rows = list(OutboundEmail.objects.order_by("id"))
        assert [r.sent_at for r in rows] == [None, None] and all(r.attempts == 1 for r in rows)
        assert "smtp down" in rows[0].last_error and rows[0].next_attempt_at > timezone.now()
        OutboundEmail.objects.update(next_attempt_at=timezone.now() - timedelta(seconds=1))
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    assert send_mail(acme) == 2
    assert send_mail(acme) == 0  # sent once
    assert sorted(m.to[0] for m in mailoutbox) == ["ada@acme.test", "bob@acme.test"]
