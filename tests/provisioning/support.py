"""Pipeline test helpers: draining a tenant in-process, sending its mail, a mail server that is down.

Directory writes come from tests.support.directory (re-exported here for the pipeline tests)."""

from __future__ import annotations

from typing import Any

from outbox.models import Event
from provisioning import emails
from provisioning.drain import dispatch_tenant
from tenants.context import TenantRef, tenant_schema
from tests.provisioning.infra import wait_for, webhook_receiver
from tests.support.directory import (
    change_members,
    make_group,
    make_user,
    map_group,
    patch_user_ops,
    remove_group,
    remove_user,
    scim_ctx,
    set_active,
)
from tests.support.queries import count_queries

__all__ = [
    "change_members",
    "count_queries",
    "make_group",
    "make_user",
    "map_group",
    "patch_user_ops",
    "remove_group",
    "remove_user",
    "scim_ctx",
    "set_active",
    "wait_for",
    "webhook_receiver",
]


def drain(tenant: TenantRef, *, rounds: int = 10) -> int:
    """Run the dispatcher in-process until the tenant has nothing ready to handle, then send the
    outbox emails (what the worker's send task does after commit)."""
    handled = 0
    for _ in range(rounds):
        result = dispatch_tenant(tenant.schema_name)
        handled += result.handled
        if result.handled == 0 or result.failed_seq is not None:
            break
    send_mail(tenant)
    return handled


def send_mail(tenant: TenantRef) -> int:
    """Send the tenant's outbox emails in-process (tests run inside a transaction that never commits)."""
    with tenant_schema(tenant):
        return emails.send_pending().sent


def events_of(tenant: TenantRef, *types: str) -> list[Event]:
    with tenant_schema(tenant):
        qs = Event.objects.order_by("seq")
        return list(qs.filter(type__in=types) if types else qs)




class RefusingEmailBackend:
    """An email backend whose server is down (settings.EMAIL_BACKEND in tests)."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        pass

    def __enter__(self) -> RefusingEmailBackend:
        return self

    def __exit__(self, *exc: object) -> None:
        return None

    def open(self) -> None:
        return None

    def close(self) -> None:
        return None

    def send_messages(self, messages: Any) -> int:
        raise ConnectionRefusedError("smtp down")
