"""The setup wizard's state per connection (public schema): which IdP, which steps are done, tokens.

The portal's wizard views call these; the console reads ConnectionSetup to show setup progress
without opening tenant schemas. Resuming is always possible: `ConnectionSetup.step` is the
furthest step reached, and every earlier step can be reopened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from scim.idp import PROFILES, get_profile
from scim.idp.base import IdpProfile
from tenants.models import ConnectionSetup, ScimConnection, ScimToken, Tenant
from tenants.services import IssuedToken, _issue_token, rotate_token

Step = ConnectionSetup.Step
STEP_ORDER: tuple[str, ...] = tuple(Step.values)
ROTATION_OVERLAPS: dict[str, timedelta] = {
    "0": timedelta(0),
    "1h": timedelta(hours=1),
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
}


class WizardError(Exception):
    """A wizard action that cannot be done now; the message says what to do instead."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


def step_index(step: str) -> int:
    return STEP_ORDER.index(step)


def reached(setup: ConnectionSetup, step: str) -> bool:
    return step_index(step) <= step_index(setup.step)


def _advance(setup: ConnectionSetup, step: str) -> None:
    if step_index(step) > step_index(setup.step):
        setup.step = step


def _profile(idp: str) -> IdpProfile:
    try:
        return get_profile(idp)
    except KeyError:
        raise WizardError("Choose one of the identity providers listed.", "idp") from None


def start_setup(*, tenant: Tenant, idp: str, actor: User) -> ConnectionSetup:
    """A new connection for the chosen IdP (no token yet: step 3 issues it) with its wizard state."""
    profile = _profile(idp)
    with transaction.atomic():
        connection = ScimConnection.objects.create(tenant=tenant, idp=profile.key, name=profile.name)
        return ConnectionSetup.objects.create(
            connection=connection, tenant=tenant, step=Step.INSTRUCTIONS, started_by=actor
        )


def needs_confirmation_to_change(setup: ConnectionSetup, idp: str) -> bool:
    """Changing the IdP after step 1 resets the later steps, so the admin confirms it first."""
    return _profile(idp).key != setup.connection.idp and setup.step != Step.IDP


def change_idp(*, setup: ConnectionSetup, idp: str) -> ConnectionSetup:
    """Switch the connection to another IdP profile; steps 2-4 start over (tokens stay valid)."""
    profile = _profile(idp)
    connection = setup.connection
    if profile.key == connection.idp:
        return setup
    with transaction.atomic():
        old = get_profile(connection.idp)
        if not connection.name or connection.name == old.name:
            connection.name = profile.name
        connection.idp = profile.key
        connection.save(update_fields=["idp", "name"])
        setup.step = Step.INSTRUCTIONS
        setup.instructions_done_at = None
        setup.token_pasted_at = None
        setup.connection_test_at = None
        setup.save()
    return setup


def complete_instructions(*, setup: ConnectionSetup) -> ConnectionSetup:
    setup.instructions_done_at = setup.instructions_done_at or timezone.now()
    _advance(setup, Step.CREDENTIALS)
    setup.save()
    return setup


def active_tokens(connection: ScimConnection) -> list[ScimToken]:
    now = timezone.now()
    return list(
        connection.tokens.filter(revoked_at__isnull=True)
        .filter(Q(expires_at__isnull=True) | Q(expires_at__gt=now))
        .order_by("-created_at")
    )


def generate_token(*, setup: ConnectionSetup, overlap: str | None = None) -> IssuedToken:
    """The connection's first token, or a new one with the old ones kept for `overlap` (a ROTATION_OVERLAPS key)."""
    connection = setup.connection
    if not reached(setup, Step.CREDENTIALS):
        raise WizardError("Finish the steps in your identity provider first.")
    with transaction.atomic():
        current = active_tokens(connection)
        if not current:
            issued = IssuedToken(connection=connection, token=_issue_token(connection))
        else:
            if overlap not in ROTATION_OVERLAPS:
                raise WizardError("Choose how long the current token keeps working.", "overlap")
            window = ROTATION_OVERLAPS[overlap]
            if window:
                issued = rotate_token(connection=connection, overlap=window)
            else:
                connection.tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())
                issued = IssuedToken(connection=connection, token=_issue_token(connection))
        setup.token_issued_at = timezone.now()
        setup.token_pasted_at = None
        setup.save()
    return issued


def confirm_token_pasted(*, setup: ConnectionSetup, pasted: bool) -> ConnectionSetup:
    if setup.token_issued_at is None or not active_tokens(setup.connection):
        raise WizardError("Generate a token first.")
    if not pasted:
        label = get_profile(setup.connection.idp).credential_labels()[1]
        raise WizardError(f"Tick the box once the token is pasted into {label}.", "pasted")
    setup.token_pasted_at = setup.token_pasted_at or timezone.now()
    _advance(setup, Step.LIVE_CHECK)
    setup.save()
    return setup


@dataclass(frozen=True)
class Observed:
    """What the live check saw in the request log (first times, None when not yet)."""

    connected_at: datetime | None
    connection_test_at: datetime | None
    first_user_at: datetime | None


def record_observed(*, setup: ConnectionSetup, observed: Observed) -> ConnectionSetup:
    """Keep the first time each live-check milestone was seen (writes only when something is new)."""
    changed = []
    for name in ("connected_at", "connection_test_at", "first_user_at"):
        value = getattr(observed, name)
        if value is not None and getattr(setup, name) is None:
            setattr(setup, name, value)
            changed.append(name)
    if changed:
        if setup.first_user_at is not None:
            _advance(setup, Step.MAPPING)
            changed.append("step")
        ConnectionSetup.objects.filter(pk=setup.pk).update(**{n: getattr(setup, n) for n in changed})
    return setup


def setups_for(tenant: Tenant) -> list[ConnectionSetup]:
    return list(
        ConnectionSetup.objects.filter(tenant=tenant).select_related("connection").order_by("created_at")
    )


def setup_for(tenant: Tenant, connection_id: str) -> ConnectionSetup:
    """The tenant's wizard state for a connection id; ConnectionSetup.DoesNotExist for another tenant's."""
    return ConnectionSetup.objects.select_related("connection").get(tenant=tenant, connection_id=connection_id)


def profiles() -> list[IdpProfile]:
    return list(PROFILES.values())
