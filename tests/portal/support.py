"""Portal test helpers: accounts made through the real services, clients signed in for real."""

from __future__ import annotations

import base64
import time
from dataclasses import dataclass

from django.test import Client
from django_otp import DEVICE_ID_SESSION_KEY
from django_otp.oath import TOTP
from django_otp.plugins.otp_totp.models import TOTPDevice

from tenants import accounts
from tenants.models import Tenant, TenantAdmin
from tenants.services import issue_setup_link
from tests.support.actors import TEST_ACTOR

PASSWORD = "correct horse battery staple"


def secret_of(url: str) -> str:
    return url.rsplit("/", 1)[1]


def totp_now(key_b32_or_device: str | TOTPDevice, *, steps_ahead: int = 0) -> str:
    """The current 6-digit code for a device or a base32 key (as an authenticator app computes it)."""
    if isinstance(key_b32_or_device, TOTPDevice):
        key = key_b32_or_device.bin_key
    else:
        compact = key_b32_or_device.replace(" ", "").upper()
        key = base64.b32decode(compact + "=" * (-len(compact) % 8))
    totp = TOTP(key, step=30, t0=0, digits=6)
    totp.time = time.time() + 30 * steps_ahead
    return f"{totp.token():06d}"


@dataclass
class Admin:
    admin: TenantAdmin
    device: TOTPDevice
    recovery_codes: list[str]

    @property
    def user(self):  # type: ignore[no-untyped-def]
        return self.admin.user

    @property
    def email(self) -> str:
        return self.admin.user.username


def make_admin(tenant: Tenant, email: str) -> Admin:
    """A tenant admin created the way a person does it: setup link, account, TOTP confirmed."""
    url = issue_setup_link(tenant=tenant, actor=TEST_ACTOR)
    admin = accounts.create_account_from_link(
        secret=secret_of(url), email=email, password=PASSWORD, password_again=PASSWORD
    )
    enrolment = accounts.start_totp_enrolment(user=admin.user, label=tenant.name)
    device, codes = accounts.confirm_totp(user=admin.user, code=totp_now(enrolment.device), ip="127.0.0.9")
    return Admin(admin=admin, device=device, recovery_codes=codes)


def verified_client(user, device) -> Client:  # type: ignore[no-untyped-def]
    """A client whose session passed password and TOTP (the flow itself is tested in test_auth)."""
    client = Client()
    client.force_login(user)
    session = client.session
    session[DEVICE_ID_SESSION_KEY] = device.persistent_id
    session.save()
    return client


def password_only_client(user) -> Client:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(user)
    return client
