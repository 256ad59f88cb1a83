"""The setup wizard's state per connection (public schema): which IdP, which steps are done, tokens.

Steps 5-8 (attributes, roles, test user, done) record their completion here; what they change in the
directory (mappings, roles) is done by directory services the portal calls before these.

The portal's wizard views call these; the console reads ConnectionSetup to show setup progress
without opening tenant schemas. Resuming is always possible: `ConnectionSetup.step` is the
furthest step reached, and every earlier step can be reopened.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.db import transaction
from django.utils import timezone

from scim.idp import PROFILES, get_profile
from scim.idp.base import IdpProfile
from tenants import accounts
from tenants.audit import AuditActor, AuditEventType, record_audit
from tenants.connections import ConnectionRefused, issue_or_rotate_token
from tenants.connections import active_tokens as _active_tokens
from tenants.models import ConnectionSetup, ScimConnection, ScimToken, Tenant
from tenants.services import IssuedToken, add_connection

Step = ConnectionSetup.Step
STEP_ORDER: tuple[str, ...] = tuple(Step.values)


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


def start_setup(*, tenant: Tenant, idp: str, actor: User, audit_actor: AuditActor) -> ConnectionSetup:
    """A new connection for the chosen IdP (no token yet: step 3 issues it) with its wizard state."""
    profile = _profile(idp)
    with transaction.atomic():
        connection = add_connection(tenant=tenant, idp=profile.key, name=profile.name, actor=audit_actor)
        return ConnectionSetup.objects.create(
            connection=connection, tenant=tenant, step=Step.INSTRUCTIONS, started_by=actor
        )


def needs_confirmation_to_change(setup: ConnectionSetup, idp: str) -> bool:
    """Changing the IdP after step 1 resets the later steps, so the admin confirms it first."""
    return _profile(idp).key != setup.connection.idp and setup.step != Step.IDP


def change_idp(*, setup: ConnectionSetup, idp: str, audit_actor: AuditActor) -> ConnectionSetup:
    """Switch the connection to another IdP profile; steps 2-4 start over (tokens stay valid)."""
    profile = _profile(idp)
    connection = setup.connection
    if profile.key == connection.idp:
        return setup
    with transaction.atomic():
        old = get_profile(connection.idp)
        if not connection.name or connection.name == old.name:
            connection.name = profile.name
        record_audit(
            actor=audit_actor,
            type=AuditEventType.CONNECTION_IDP_CHANGED,
            tenant=setup.tenant_id,
            target_type="connection",
            target_id=connection.id,
            data={"before": connection.idp, "after": profile.key},
        )
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
    return _active_tokens(connection)


def generate_token(*, setup: ConnectionSetup, actor: AuditActor, overlap: str | None = None) -> IssuedToken:
    """The connection's first token, or a new one with the old ones kept for `overlap` (a ROTATION_OVERLAPS key)."""
    connection = setup.connection
    if not reached(setup, Step.CREDENTIALS):
        raise WizardError("Finish the steps in your identity provider first.")
    with transaction.atomic():
        try:
            issued = issue_or_rotate_token(connection=connection, overlap=overlap, actor=actor)
        except ConnectionRefused as exc:
            raise WizardError(exc.message, exc.field) from None
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


def complete_mapping(*, setup: ConnectionSetup) -> ConnectionSetup:
    """Step 5 done: the attribute mapping was saved (or its defaults kept)."""
    _require(setup, Step.MAPPING)
    setup.mapped_at = timezone.now()
    _advance(setup, Step.ROLES)
    setup.save(update_fields=["mapped_at", "step", "updated_at"])
    return setup


def complete_roles(*, setup: ConnectionSetup) -> ConnectionSetup:
    """Step 6 done: group-to-role mappings saved (or none wanted)."""
    _require(setup, Step.ROLES)
    setup.roles_mapped_at = timezone.now()
    _advance(setup, Step.VERIFY)
    setup.save(update_fields=["roles_mapped_at", "step", "updated_at"])
    return setup


def choose_test_user(*, setup: ConnectionSetup, user_id: str) -> ConnectionSetup:
    """Which directory user the step 7 checklist follows (the caller checked it exists)."""
    _require(setup, Step.VERIFY)
    setup.test_user_id = str(user_id)[:64]
    setup.save(update_fields=["test_user_id", "updated_at"])
    return setup


def record_verified(*, setup: ConnectionSetup) -> ConnectionSetup:
    """Every checklist row ticked: the connection is verified (and a skipped verification is forgotten)."""
    changed = setup.verified_at is None or setup.verify_skipped_at is not None
    if setup.verified_at is None:
        setup.verified_at = timezone.now()
    setup.verify_skipped_at = None
    _advance(setup, Step.DONE)
    if changed:
        setup.save(update_fields=["verified_at", "verify_skipped_at", "step", "updated_at"])
    return setup


def skip_verification(*, setup: ConnectionSetup) -> ConnectionSetup:
    """"Skip, verify later": on to the summary; the connection shows "not verified" until it is."""
    _require(setup, Step.VERIFY)
    if setup.verified_at is None and setup.verify_skipped_at is None:
        setup.verify_skipped_at = timezone.now()
    _advance(setup, Step.DONE)
    setup.save(update_fields=["verify_skipped_at", "step", "updated_at"])
    return setup


def complete_setup(*, setup: ConnectionSetup, audit_actor: AuditActor) -> ConnectionSetup:
    """Step 8: the wizard is finished for this connection; the tenant's setup link is marked completed."""
    _require(setup, Step.DONE)
    with transaction.atomic():
        if setup.completed_at is None:
            setup.completed_at = timezone.now()
            setup.save(update_fields=["completed_at", "updated_at"])
            record_audit(
                actor=audit_actor,
                type=AuditEventType.SETUP_COMPLETED,
                tenant=setup.tenant_id,
                target_type="connection",
                target_id=setup.connection_id,
                data={"verification": setup.verification_state},
            )
        accounts.record_setup_completed(tenant=setup.tenant)
    return setup


def _require(setup: ConnectionSetup, step: str) -> None:
    if not reached(setup, step):
        raise WizardError("Finish the earlier steps first.")


def setups_for(tenant: Tenant) -> list[ConnectionSetup]:
    return list(
        ConnectionSetup.objects.filter(tenant=tenant).select_related("connection").order_by("created_at")
    )


def setup_for(tenant: Tenant, connection_id: str) -> ConnectionSetup:
    """The tenant's wizard state for a connection id; ConnectionSetup.DoesNotExist for another tenant's."""
    return ConnectionSetup.objects.select_related("connection").get(tenant=tenant, connection_id=connection_id)


def profiles() -> list[IdpProfile]:
    return list(PROFILES.values())
