"""Setup progress reads each step from what it leaves behind: link opened, admin enrolled, test user verified."""

from __future__ import annotations

from django.utils import timezone

from console.setup_progress import SetupStage, setup_progress
from tenants import accounts
from tenants.context import TenantRef
from tenants.models import ConnectionSetup, SetupLink
from tenants.services import add_connection, issue_setup_link
from tests.portal.support import make_admin, secret_of
from tests.support.actors import TEST_ACTOR


def test_a_fresh_link_is_issued_only(tenant_a) -> None:  # type: ignore[no-untyped-def]
    issue_setup_link(tenant=tenant_a, actor=TEST_ACTOR)
    progress = setup_progress(TenantRef.of(tenant_a))
    assert progress.stage is SetupStage.LINK_ISSUED
    assert progress.reached[SetupStage.LINK_OPENED] is None


def test_opening_the_link_is_the_second_step(tenant_a) -> None:  # type: ignore[no-untyped-def]
    url = issue_setup_link(tenant=tenant_a, actor=TEST_ACTOR)
    accounts.open_setup_link(secret=secret_of(url))
    progress = setup_progress(TenantRef.of(tenant_a))
    assert progress.stage is SetupStage.LINK_OPENED
    assert progress.reached[SetupStage.LINK_OPENED] == SetupLink.objects.get(tenant=tenant_a, opened_at__isnull=False).opened_at


def test_an_enrolled_admin_and_a_verified_connection_reach_their_steps(tenant_a) -> None:  # type: ignore[no-untyped-def]
    make_admin(tenant_a, "ada@alpha.example")
    assert setup_progress(TenantRef.of(tenant_a)).reached[SetupStage.ENROLLED] is not None
    connection = add_connection(tenant=tenant_a, idp="okta", actor=TEST_ACTOR)
    verified = timezone.now()
    ConnectionSetup.objects.update_or_create(connection=connection, defaults={"tenant": tenant_a, "verified_at": verified})
    progress = setup_progress(TenantRef.of(tenant_a))
    assert progress.reached[SetupStage.VERIFIED] == verified
    assert progress.stage is SetupStage.VERIFIED
