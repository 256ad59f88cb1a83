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
