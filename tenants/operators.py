"""Operator accounts (the SaaS operator's staff: /console/) from the command line: bootstrap a
deployment's first operator, reset a lost password or a lost authenticator, list them.

Accounts are tenants.accounts' Operator rows (with their Django user); creation goes through
accounts.ensure_operator, so the console and the CLI make the same account.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth.models import User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from tenants.accounts import ensure_operator
from tenants.audit import AuditActor, AuditEventType, record_audit
from tenants.models import Operator, RecoveryCodeDevice
from tenants.services import TenantError


@dataclass(frozen=True)
class OperatorCredentials:
    username: str
    password: str | None  # a generated password, shown once; None when chosen by the caller or unchanged
    created: bool


@dataclass(frozen=True)
class OperatorRow:
    username: str
    email: str
    role: str
    active: bool
    last_login: datetime | None
    created_at: datetime


def _validated(password: str, user: User) -> str:
    try:
        validate_password(password, user=user)
    except ValidationError as exc:
        raise TenantError("password refused: " + " ".join(exc.messages)) from None
    return password


def create_operator(
    *, username: str, email: str = "", password: str | None = None, role: str = Operator.Role.ADMIN, if_missing: bool = False
) -> OperatorCredentials:
    """Create an operator (a generated password is returned once). With `if_missing`, an existing one is left as it is."""
    username = username.strip()
    if not username:
        raise TenantError("username must not be empty")
    if role not in Operator.Role.values:
        raise TenantError(f"unknown role {role!r}: choose one of {', '.join(Operator.Role.values)}")
    if Operator.objects.filter(user__username=username).exists():
        if if_missing:
            return OperatorCredentials(username, None, created=False)
        raise TenantError(f"an operator named {username!r} already exists (reset it with set-password)")
    with transaction.atomic():
        operator, generated = ensure_operator(username=username, email=email, role=role)
        if password is not None:
            operator.user.set_password(_validated(password, operator.user))
            operator.user.save(update_fields=["password"])
            generated = None
    return OperatorCredentials(username, generated, created=True)


def reset_operator_password(*, username: str, password: str | None = None, reset_two_factor: bool = False) -> OperatorCredentials:
    """Lost password: a new one (generated unless given); optionally remove the operator's 2FA devices
    (lost authenticator), so the next sign-in enrols again."""
    operator = Operator.objects.select_related("user").filter(user__username=username).first()
    if operator is None:
        raise TenantError(f"unknown operator {username!r}")
    user = operator.user
    chosen = _validated(password, user) if password is not None else secrets.token_urlsafe(15)
    with transaction.atomic():
        user.set_password(chosen)
        user.is_active = True
        user.save(update_fields=["password", "is_active"])
        if reset_two_factor:
            from django_otp import devices_for_user

            for device in devices_for_user(user, confirmed=None):
                device.delete()
            RecoveryCodeDevice.objects.filter(user_id=user.pk).delete()
    return OperatorCredentials(username, None if password is not None else chosen, created=False)


def list_operators() -> list[OperatorRow]:
    rows = Operator.objects.select_related("user").order_by("user__username")
    return [
        OperatorRow(o.user.username, o.user.email, o.role, o.user.is_active, o.user.last_login, o.created_at) for o in rows
    ]


# --------------------------------------------------------------------------- the console's Operators page


@dataclass(frozen=True)
class OperatorAccount:
    """One line of the console's Operators page."""

    id: int
    email: str
    role: str
    two_factor: bool  # a confirmed TOTP device
    last_login: datetime | None
    created_at: datetime


def operator_accounts() -> list[OperatorAccount]:
    """Every operator with whether 2FA is enrolled (two queries at any number of operators)."""
    from django_otp.plugins.otp_totp.models import TOTPDevice

    rows = list(Operator.objects.select_related("user").order_by("user__username"))
    enrolled = set(
        TOTPDevice.objects.filter(user_id__in=[o.user_id for o in rows], confirmed=True).values_list("user_id", flat=True)
    )
    return [
        OperatorAccount(o.pk, o.user.email or o.user.username, o.role, o.user_id in enrolled, o.user.last_login, o.created_at)
        for o in rows
    ]


def add_operator(*, email: str, role: str, actor: AuditActor) -> OperatorCredentials:
    """A new operator signing in with `email` and the one-time password returned; the first sign-in
    enrols TOTP (the login flow requires it). Audited."""
    from django.core.validators import validate_email

    from tenants.accounts import normalise_email

    email = normalise_email(email)
    try:
        validate_email(email)
    except ValidationError:
        raise TenantError("enter a valid email address") from None
    if User.objects.filter(username=email).exists():
        raise TenantError(f"an account for {email} already exists")
    with transaction.atomic():
        credentials = create_operator(username=email, email=email, role=role)
        operator = Operator.objects.get(user__username=email)
        record_audit(
            actor=actor,
            type=AuditEventType.OPERATOR_CREATED,
            target_type="operator",
            target_id=str(operator.pk),
            data={"email": email, "role": role},
        )
    return credentials


def _locked_operator(operator_id: int) -> Operator:
    operator = Operator.objects.select_for_update().select_related("user").filter(pk=operator_id).first()
    if operator is None:
        raise TenantError("that operator no longer exists")
    return operator


def _other_admins(operator: Operator) -> int:
    # Lock every admin row: two concurrent demotions cannot both see "another admin is left".
    return len(list(Operator.objects.select_for_update().filter(role=Operator.Role.ADMIN).exclude(pk=operator.pk)))


def change_operator_role(*, operator_id: int, role: str, actor: AuditActor) -> Operator:
    """Make an operator support or admin; never leaves the console without an admin, never your own role."""
    if role not in Operator.Role.values:
        raise TenantError(f"unknown role {role!r}: choose one of {', '.join(Operator.Role.values)}")
    with transaction.atomic():
        operator = _locked_operator(operator_id)
        if operator.role == role:
            return operator
        if str(operator.user_id) == actor.id:
            raise TenantError("you cannot change your own role; ask another admin")
        if operator.role == Operator.Role.ADMIN and not _other_admins(operator):
            raise TenantError("this is the last admin: make someone else admin first")
        previous = operator.role
        operator.role = role
        operator.save(update_fields=["role"])
        user = operator.user
        user.is_staff = user.is_superuser = role == Operator.Role.ADMIN
        user.save(update_fields=["is_staff", "is_superuser"])
        record_audit(
            actor=actor,
            type=AuditEventType.OPERATOR_ROLE_CHANGED,
            target_type="operator",
            target_id=str(operator.pk),
            data={"email": user.email or user.username, "from": previous, "to": role},
        )
    return operator


def remove_operator(*, operator_id: int, actor: AuditActor) -> str:
    """Delete an operator's account (sessions end with it); never yourself, never the last admin.
    Returns the removed operator's email. Audited."""
    with transaction.atomic():
        operator = _locked_operator(operator_id)
        if str(operator.user_id) == actor.id:
            raise TenantError("you cannot remove yourself; ask another admin")
        if operator.role == Operator.Role.ADMIN and not _other_admins(operator):
            raise TenantError("this is the last admin: make someone else admin first")
        user = operator.user
        email = user.email or user.username
        record_audit(
            actor=actor,
            type=AuditEventType.OPERATOR_REMOVED,
            target_type="operator",
            target_id=str(operator.pk),
            data={"email": email, "role": operator.role},
        )
        user.delete()  # the Operator row, its 2FA devices and sessions' user go with it
    return email
