"""Portal and console accounts: setup links and invites, passwords, TOTP, recovery codes, admins.

Every entry point (portal views, console views, CLI, demo seeding) calls these. Failed passwords
and codes are counted here (tenants.ratelimit), so no entry point can skip the limits. Secrets
(link secrets, TOTP keys, recovery codes) never reach a log line: errors name what went wrong,
never the value.
"""

from __future__ import annotations

import secrets as pysecrets
from dataclasses import dataclass
from enum import StrEnum

from django.contrib.auth.models import AnonymousUser, User
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone
from django_otp.plugins.otp_totp.models import TOTPDevice

from tenants import ratelimit
from tenants import secrets as secrets_
from tenants.audit import AuditActor, AuditEventType, record_audit
from tenants.models import Operator, RecoveryCodeDevice, SetupLink, Tenant, TenantAdmin
from tenants.services import setup_link_ttl, setup_url

TOTP_DIGITS = 6


class AccountError(Exception):
    """Bad input to an account service: a message for the person, nothing changed.

    `field` names the form field the message belongs to ("" for the whole form)."""

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.field = field


class LinkProblem(StrEnum):
    UNKNOWN = "unknown"
    EXPIRED = "expired"
    USED = "used"
    REVOKED = "revoked"


class SetupLinkInvalid(Exception):
    """The setup or invite link cannot be used; `problem` says why (the page says what to do)."""

    def __init__(self, problem: LinkProblem, tenant_name: str = "") -> None:
        super().__init__(problem.value)
        self.problem = problem
        self.tenant_name = tenant_name


class Audience(StrEnum):
    """Who signs in where: tenant admins at /portal/, operators at /console/."""

    PORTAL = "portal"
    CONSOLE = "console"

    def admits(self, user: User | AnonymousUser) -> bool:
        if user.pk is None:
            return False
        if self is Audience.PORTAL:
            return TenantAdmin.objects.filter(user_id=user.pk).exists()
        return Operator.objects.filter(user_id=user.pk).exists()


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


# --------------------------------------------------------------------------- setup links


def _link_for(secret: str, *, lock: bool = False) -> SetupLink:
    links = SetupLink.objects.select_related("tenant", "invited_by")
    if lock:
        links = links.select_for_update(of=("self",))
    link = links.filter(digest=secrets_.digest(secret)).first() if secret else None
    if link is None:
        raise SetupLinkInvalid(LinkProblem.UNKNOWN)
    name = link.tenant.name
    if link.used_at is not None:
        raise SetupLinkInvalid(LinkProblem.USED, name)
    if link.revoked_at is not None:
        raise SetupLinkInvalid(LinkProblem.REVOKED, name)
    if link.expires_at <= timezone.now():
        if link.status != SetupLink.Status.EXPIRED:
            SetupLink.objects.filter(pk=link.pk).update(status=SetupLink.Status.EXPIRED)
        raise SetupLinkInvalid(LinkProblem.EXPIRED, name)
    return link


def open_setup_link(*, secret: str) -> SetupLink:
    """The usable link for `secret`, its first opening recorded; SetupLinkInvalid otherwise."""
    link = _link_for(secret)
    if link.opened_at is None:
        now = timezone.now()
        SetupLink.objects.filter(pk=link.pk, opened_at__isnull=True).update(
            opened_at=now, status=SetupLink.Status.OPENED
        )
        link.opened_at, link.status = now, SetupLink.Status.OPENED
    return link


def create_account_from_link(*, secret: str, email: str, password: str, password_again: str) -> TenantAdmin:
    """Redeem a setup or invite link for a tenant-admin account. The link stops working at once."""
    with transaction.atomic():
        link = _link_for(secret, lock=True)
        if link.purpose == SetupLink.Purpose.INVITE:
            email = link.email
        address = normalise_email(email)
        try:
            validate_email(address)
        except ValidationError:
            raise AccountError("Enter a valid email address, like jane@example.com.", "email") from None
        if User.objects.filter(username=address).exists():
            raise AccountError(
                "An account with this email already exists. Sign in instead, or use another address.", "email"
            )
        if password != password_again:
            raise AccountError("The two passwords differ. Type the same password twice.", "password_again")
        candidate = User(username=address, email=address)
        try:
            validate_password(password, user=candidate)
        except ValidationError as exc:
            raise AccountError(" ".join(exc.messages), "password") from None
        candidate.set_password(password)
        candidate.save()
        admin = TenantAdmin.objects.create(user=candidate, tenant=link.tenant, invited_by=link.invited_by)
        now = timezone.now()
        SetupLink.objects.filter(pk=link.pk).update(used_at=now, revoked_at=now, redeemed_by=candidate)
    return admin


def _record_link_enrolled(user: User) -> None:
    SetupLink.objects.filter(redeemed_by_id=user.pk, enrolled_at__isnull=True).update(
        enrolled_at=timezone.now(), status=SetupLink.Status.ENROLLED
    )


def record_setup_completed(*, tenant: Tenant) -> None:
    """The wizard finished: the tenant's redeemed setup link is marked completed."""
    SetupLink.objects.filter(
        tenant=tenant, purpose=SetupLink.Purpose.SETUP, used_at__isnull=False, completed_at__isnull=True
    ).update(completed_at=timezone.now(), status=SetupLink.Status.COMPLETED)


def invite_admin(*, tenant: Tenant, email: str, invited_by: User, actor: AuditActor) -> str:
    """An invite link for another admin of `tenant` (shown once). Earlier invites to the address stop working."""
    address = normalise_email(email)
    try:
        validate_email(address)
    except ValidationError:
        raise AccountError("Enter a valid email address, like jane@example.com.", "email") from None
    if User.objects.filter(username=address).exists():
        raise AccountError("This person already has a Rollcall account.", "email")
    secret = secrets_.new_setup_secret()
    now = timezone.now()
    with transaction.atomic():
        SetupLink.objects.filter(
            tenant=tenant, purpose=SetupLink.Purpose.INVITE, email=address, used_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=now, status=SetupLink.Status.REVOKED)
        invite = SetupLink.objects.create(
            tenant=tenant,
            digest=secrets_.digest(secret),
            expires_at=now + setup_link_ttl(),
            purpose=SetupLink.Purpose.INVITE,
            email=address,
            invited_by=invited_by,
        )
        record_audit(
            actor=actor,
            type=AuditEventType.ADMIN_INVITED,
            tenant=tenant,
            target_type="setup_link",
            target_id=str(invite.pk),
            data={"email": address},
        )
    return setup_url(secret)


def revoke_invite(*, tenant: Tenant, invite_id: int, actor: AuditActor) -> None:
    with transaction.atomic():
        updated = SetupLink.objects.filter(
            tenant=tenant, pk=invite_id, purpose=SetupLink.Purpose.INVITE, used_at__isnull=True, revoked_at__isnull=True
        ).update(revoked_at=timezone.now(), status=SetupLink.Status.REVOKED)
        if not updated:
            raise AccountError("This invite is no longer open.")
        record_audit(
            actor=actor, type=AuditEventType.ADMIN_INVITE_REVOKED, tenant=tenant, target_type="setup_link", target_id=str(invite_id)
        )


def remove_admin(*, tenant: Tenant, admin_id: int, actor: User, audit_actor: AuditActor) -> str:
    """Delete another admin's account (never the last admin, never yourself). Returns their email."""
    with transaction.atomic():
        admins = list(TenantAdmin.objects.select_for_update().filter(tenant=tenant).select_related("user"))
        target = next((a for a in admins if a.pk == admin_id), None)
        if target is None:
            raise AccountError("This admin no longer exists.")
        if target.user_id == actor.pk:
            raise AccountError("You cannot remove yourself. Ask another admin to do it.")
        if len(admins) <= 1:
            raise AccountError("The last admin cannot be removed.")
        email = target.user.username
        target.user.delete()  # devices, sessions (by user id) and the TenantAdmin row go with it
        record_audit(
            actor=audit_actor,
            type=AuditEventType.ADMIN_REMOVED,
            tenant=tenant,
            target_type="tenant_admin",
            target_id=str(admin_id),
            data={"email": email},
        )
    return email


# --------------------------------------------------------------------------- passwords


def check_password(*, audience: Audience, email: str, password: str, ip: str) -> User:
    """The account for email + password, counting failures per account and per IP.

    Raises ratelimit.Limited while locked out (even for the right password) and AccountError
    ("wrong email or password", never which of the two) on a mismatch."""
    address = normalise_email(email)
    ratelimit.check(ratelimit.PASSWORD, account=address, ip=ip)
    user = User.objects.filter(username=address, is_active=True).first()
    if user is None:
        User().set_password(password)  # the same hashing time as a real check
    if user is None or not (user.check_password(password) and audience.admits(user)):
        ratelimit.fail(ratelimit.PASSWORD, account=address, ip=ip)
        raise AccountError("Wrong email or password.")
    ratelimit.clear(ratelimit.PASSWORD, account=address)
    return user


# --------------------------------------------------------------------------- TOTP and recovery codes


@dataclass(frozen=True)
class Enrolment:
    device: TOTPDevice
    manual_key: str  # base32, grouped in fours for reading
    otpauth_url: str


def _base32_key(device: TOTPDevice) -> str:
    import base64

    return base64.b32encode(device.bin_key).decode().rstrip("=")


def has_confirmed_totp(user: User) -> bool:
    return TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).exists()


def start_totp_enrolment(*, user: User, label: str) -> Enrolment:
    """The user's pending (unconfirmed) TOTP device, created once and reused on reload."""
    if has_confirmed_totp(user):
        raise AccountError("Two-factor authentication is already set up for this account.")
    device = TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).order_by("id").first()
    if device is None:
        device = TOTPDevice.objects.create(user=user, name="Authenticator app", confirmed=False)
    key = _base32_key(device)
    from urllib.parse import quote

    issuer = "Rollcall"
    account = f"{label} ({user.get_username()})" if label else user.get_username()
    url = (
        f"otpauth://totp/{quote(issuer)}:{quote(account)}?secret={key}&issuer={quote(issuer)}"
        f"&digits={device.digits}&period={device.step}"
    )
    grouped = " ".join(key[i : i + 4] for i in range(0, len(key), 4))
    return Enrolment(device=device, manual_key=grouped, otpauth_url=url)


def _code_shape_ok(code: str) -> bool:
    return len(code) == TOTP_DIGITS and code.isdigit()


def confirm_totp(*, user: User, code: str, ip: str) -> tuple[TOTPDevice, list[str]]:
    """Confirm the pending device with a current code; returns it and 10 new recovery codes (shown once)."""
    code = "".join(code.split())
    ratelimit.check(ratelimit.CODE, account=user.get_username(), ip=ip)
    if not _code_shape_ok(code):
        raise AccountError("Enter the 6-digit code from your authenticator app.", "code")
    with transaction.atomic():
        device = (
            TOTPDevice.objects.select_for_update().filter(user_id=user.pk, confirmed=False).order_by("id").first()
        )
        if device is None:
            raise AccountError("Start the setup again: reload this page.", "code")
        if not device.verify_token(code):
            ratelimit.fail(ratelimit.CODE, account=user.get_username(), ip=ip)
            raise AccountError(
                "That code did not match. Check that your phone's clock is right and enter the newest code.", "code"
            )
        device.confirmed = True
        device.save(update_fields=["confirmed"])
        TOTPDevice.objects.filter(user_id=user.pk, confirmed=False).delete()
        codes = issue_recovery_codes(user=user)
        _record_link_enrolled(user)
    ratelimit.clear(ratelimit.CODE, account=user.get_username())
    return device, codes


def issue_recovery_codes(*, user: User) -> list[str]:
    """Ten new recovery codes (earlier ones stop working); only their digests are stored."""
    codes = [secrets_.new_recovery_code() for _ in range(secrets_.RECOVERY_CODE_COUNT)]
    digests = [secrets_.digest(secrets_.normalise_recovery_code(c)) for c in codes]
    with transaction.atomic():
        RecoveryCodeDevice.objects.filter(user_id=user.pk).delete()
        RecoveryCodeDevice.objects.create(user=user, name="Recovery codes", digests=digests)
    return codes


@dataclass(frozen=True)
class Verified:
    device: TOTPDevice | RecoveryCodeDevice
    used_recovery_code: bool
    recovery_codes_left: int


def verify_second_factor(*, user: User, code: str, ip: str) -> Verified:
    """Check a TOTP code (6 digits) or a recovery code, counting failures per account and per IP."""
    ratelimit.check(ratelimit.CODE, account=user.get_username(), ip=ip)
    compact = "".join(code.split())
    verified: Verified | None = None
    if _code_shape_ok(compact):
        device = TOTPDevice.objects.filter(user_id=user.pk, confirmed=True).first()
        if device is not None and device.verify_token(compact):
            verified = Verified(device, False, _recovery_left(user))
    elif compact:
        recovery = RecoveryCodeDevice.objects.filter(user_id=user.pk, confirmed=True).first()
        if recovery is not None and recovery.verify_token(compact):
            verified = Verified(recovery, True, recovery.remaining)
    if verified is None:
        ratelimit.fail(ratelimit.CODE, account=user.get_username(), ip=ip)
        raise AccountError("That code did not match. Enter the newest 6-digit code, or a recovery code.", "code")
    ratelimit.clear(ratelimit.CODE, account=user.get_username())
    return verified


def _recovery_left(user: User) -> int:
    recovery = RecoveryCodeDevice.objects.filter(user_id=user.pk).first()
    return recovery.remaining if recovery else 0


# --------------------------------------------------------------------------- operators


def ensure_operator(*, username: str, email: str, role: str = Operator.Role.ADMIN) -> tuple[Operator, str | None]:
    """The operator account, created with a random password (returned once) when missing.

    A new operator has no TOTP device, so the first sign-in goes through enrolment."""
    existing = Operator.objects.select_related("user").filter(user__username=username).first()
    if existing is not None:
        return existing, None
    password = pysecrets.token_urlsafe(12)
    with transaction.atomic():
        user = User.objects.filter(username=username).first()
        if user is None:
            user = User.objects.create_user(username=username, email=email, password=password)
        else:
            user.set_password(password)
            user.save(update_fields=["password"])
        # Django admin (at /console/admin/) stays usable for admin operators.
        user.is_staff = user.is_superuser = role == Operator.Role.ADMIN
        user.save(update_fields=["is_staff", "is_superuser"])
        operator = Operator.objects.create(user=user, role=role)
    return operator, password
