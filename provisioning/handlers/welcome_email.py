"""Welcome email: once per user, the first time they are active (created active, or reactivated
having never been welcomed). A deactivate/reactivate cycle does not mail the user again.

Skipped for agents, users without an email, users already gone or inactive by the time the event
is handled, and tenants that set `welcome_email_enabled: false` or
`suppress_welcome_until_setup_done: true` while `setup_done` is not yet true (IdP connection tests
create throwaway users).
"""

from __future__ import annotations

from django.conf import settings

from directory.models import DirectoryUser
from directory.selectors import users_for_welcome
from outbox.event_types import EventType
from provisioning import emails
from provisioning.handlers import HandlerContext, register_batch
from tenants.context import TenantRef


def welcome_suppressed(tenant: TenantRef) -> bool:
    if tenant.settings.get("welcome_email_enabled") is False:
        return True
    return bool(tenant.settings.get("suppress_welcome_until_setup_done")) and not tenant.settings.get("setup_done")


def welcome_context(tenant: TenantRef, user: DirectoryUser) -> dict[str, str]:
    first = user.given_name or user.display_name or user.user_name
    return {
        "first_name": first,
        "display_name": user.display_name or first,
        "email": user.email,
        "user_name": user.user_name,
        "tenant_name": tenant.name,
        "app_name": str(tenant.settings.get("app_name") or "Rollcall"),
        "sign_in_url": str(tenant.settings.get("sign_in_url") or settings.PUBLIC_BASE_URL),
    }


@register_batch("welcome_email", [EventType.USER_CREATED, EventType.USER_REACTIVATED], order=40)
def send_welcome_emails(contexts: list[HandlerContext]) -> None:
    """The transaction's new (or reactivated) users, read in one query, mailed in one INSERT."""
    tenant = contexts[0].tenant
    if welcome_suppressed(tenant):
        return
    causes = {user_id: ctx for ctx in contexts if (user_id := ctx.user_id()) is not None}
    users = users_for_welcome(causes)
    messages = [
        emails.OutgoingEmail(
            dedupe_key=f"welcome:{user.id}",
            kind="welcome",
            to=[user.email],
            email=emails.render_email("welcome", tenant, welcome_context(tenant, user)),
            seq=ctx.seq,
        )
        for user_id, ctx in causes.items()
        if (user := users.get(user_id)) is not None
        and user.active
        and user.kind != DirectoryUser.Kind.AGENT
        and user.email
    ]
    emails.enqueue_many(messages)
