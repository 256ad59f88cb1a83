"""Operators for console page tests: a verified support and admin operator, and their clients."""

from __future__ import annotations

from dataclasses import dataclass

from django.test import Client
from django_otp.plugins.otp_totp.models import TOTPDevice

from tenants import accounts
from tenants.models import Operator
from tests.portal.support import PASSWORD, password_only_client, totp_now, verified_client


@dataclass
class SignedInOperator:
    operator: Operator
    device: TOTPDevice

    @property
    def client(self) -> Client:
        """A client past password and TOTP."""
        return verified_client(self.operator.user, self.device)

    @property
    def password_only(self) -> Client:
        return password_only_client(self.operator.user)


def make_operator(role: str, name: str | None = None) -> SignedInOperator:
    """An operator of `role` with a confirmed TOTP device (the enrolment flow is tested in test_auth)."""
    email = f"{name or role}@ops.example"
    operator, _ = accounts.ensure_operator(username=email, email=email, role=role)
    operator.user.set_password(PASSWORD)
    operator.user.save(update_fields=["password"])
    enrolment = accounts.start_totp_enrolment(user=operator.user, label="console")
    device, _ = accounts.confirm_totp(user=operator.user, code=totp_now(enrolment.device), ip="127.0.0.1")
    return SignedInOperator(operator=operator, device=device)
