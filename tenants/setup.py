"""Services the setup wizard calls: setup links and the IdP's instructions for a connection."""

from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from scim.idp import get_profile
from tenants import secrets
from tenants.models import ScimConnection, SetupLink, Tenant
from tenants.services import TenantError, scim_base_url


@dataclass(frozen=True)
class RenderedField:
    label: str
    value: str


@dataclass(frozen=True)
class RenderedStep:
    title: str
    body: str
    fields: tuple[RenderedField, ...]


def resolve_setup_link(secret: str) -> Tenant:
    """The tenant of a valid (unexpired, unused, unrevoked) setup link; TenantError otherwise."""
    link = SetupLink.objects.select_related("tenant").filter(digest=secrets.digest(secret)).first()
    if link is None or link.revoked_at is not None or link.used_at is not None:
        raise TenantError("this setup link is not valid")
    if link.expires_at <= timezone.now():
        raise TenantError("this setup link has expired: ask your vendor for a new one")
    return link.tenant


NO_TOKEN_TEXT = "(the token shown when the connection was created; rotate it to get a new one)"


def setup_instructions(
    connection: ScimConnection, token: str | None = None, *, token_placeholder: str = NO_TOKEN_TEXT
) -> list[RenderedStep]:
    """The connection's IdP steps with the SCIM URL (as that IdP wants it) and, if known, the token filled in."""
    profile = get_profile(connection.idp)
    values = {
        "scim_base_url": profile.scim_base_url_for_idp(scim_base_url(connection)),
        "token": token or token_placeholder,
        "connection_id": connection.id,
    }
    steps = []
    for step in profile.setup_steps:
        fields = tuple(RenderedField(f.label, _fill(f.value, values)) for f in step.fields)
        steps.append(RenderedStep(_fill(step.title, values), _fill(step.body, values), fields))
    return steps


def _fill(text: str, values: dict[str, str]) -> str:
    for key, value in values.items():
        text = text.replace("{" + key + "}", value)
    return text
