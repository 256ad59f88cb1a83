"""Operator accounts (the people who run Rollcall: the /console/). Every entry point calls these."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime

from django.contrib.auth import get_user_model
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.db import transaction

from tenants.services import TenantError

GENERATED_PASSWORD_BYTES = 15


@dataclass(frozen=True)
class OperatorCredentials:
    username: str
    password: str | None  # None when an existing account was left as it was
    created: bool


@dataclass(frozen=True)
class OperatorRow:
    username: str
    email: str
    active: bool
    last_login: datetime | None
    date_joined: datetime


def _checked_password(password: str | None, username: str) -> str:
    if password is None:
        return secrets.token_urlsafe(GENERATED_PASSWORD_BYTES)
    try:
        validate_password(password, user=get_user_model()(username=username))
    except ValidationError as exc:
        raise TenantError("password refused: " + " ".join(exc.messages)) from None
    return password


def create_operator(*, username: str, email: str = "", password: str | None = None, if_missing: bool = False) -> OperatorCredentials:
    """Create an operator (console superuser). With `if_missing`, an existing one is left untouched."""
    username = username.strip()
    if not username:
        raise TenantError("username must not be empty")
    users = get_user_model().objects
    if users.filter(username=username).exists():
        if if_missing:
            return OperatorCredentials(username, None, created=False)
        raise TenantError(f"an operator named {username!r} already exists (reset it with set-password)")
    chosen = _checked_password(password, username)
    users.create_superuser(username=username, email=email, password=chosen)
    return OperatorCredentials(username, None if password is not None else chosen, created=True)


def reset_operator_password(*, username: str, password: str | None = None, reset_two_factor: bool = False) -> OperatorCredentials:
    """Set a new password (generated when none is given); optionally remove the operator's 2FA devices."""
    user = get_user_model().objects.filter(username=username).first()
    if user is None:
        raise TenantError(f"unknown operator {username!r}")
    chosen = _checked_password(password, username)
    with transaction.atomic():
        user.set_password(chosen)
        user.is_active = True
        user.save(update_fields=["password", "is_active"])
        if reset_two_factor:
            from django_otp import devices_for_user

            for device in devices_for_user(user, confirmed=None):
                device.delete()
    return OperatorCredentials(username, None if password is not None else chosen, created=False)


def list_operators() -> list[OperatorRow]:
    users = get_user_model().objects.filter(is_superuser=True).order_by("username")
    return [OperatorRow(u.username, u.email, u.is_active, u.last_login, u.date_joined) for u in users]
