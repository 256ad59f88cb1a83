"""The demo data `make run` creates (idempotently): an operator, tenant "Acme", an Okta connection."""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction

from tenants.accounts import ensure_operator
from tenants.audit import AuditActor
from tenants.models import ScimConnection, Tenant
from tenants.services import (
    create_connection,
    create_tenant,
    issue_setup_link,
    revoke_tokens,
    rotate_token,
    scim_base_url,
)

DEMO_SLUG = "acme"
DEMO_OPERATOR = "operator"
DEMO_ACTOR = AuditActor.system("make run (demo data)")


@dataclass(frozen=True)
class DemoAccess:
    operator_username: str
    operator_password: str | None  # only when the account was created by this run
    setup_url: str
    scim_base_url: str
    token: str


def ensure_demo() -> DemoAccess:
    """Create what is missing; issue a fresh setup link and SCIM token (old demo tokens are revoked)."""
    # An admin operator with a random password (returned once); TOTP enrolment on first sign-in.
    _, password = ensure_operator(username=DEMO_OPERATOR, email="operator@rollcall.local")
    tenant = Tenant.objects.filter(slug=DEMO_SLUG).first()
    if tenant is None:
        created = create_tenant(name="Acme", slug=DEMO_SLUG, actor=DEMO_ACTOR)
        tenant, setup_url = created.tenant, created.setup_url
    else:
        setup_url = issue_setup_link(tenant=tenant, actor=DEMO_ACTOR)
    connection = ScimConnection.objects.filter(tenant=tenant, idp="okta").order_by("created_at").first()
    if connection is None:
        issued = create_connection(tenant=tenant, idp="okta", name="Okta (demo)", actor=DEMO_ACTOR)
    else:
        with transaction.atomic():
            revoke_tokens(connection=connection, actor=DEMO_ACTOR)
            issued = rotate_token(connection=connection, actor=DEMO_ACTOR)
    return DemoAccess(
        operator_username=DEMO_OPERATOR,
        operator_password=password,
        setup_url=setup_url,
        scim_base_url=scim_base_url(issued.connection),
        token=issued.token,
    )
