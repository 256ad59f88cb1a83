"""Console browser tests share the portal's browser plumbing: Debian's Chromium, a live server, a
private Redis, a real Celery worker and the screenshot helper."""

from __future__ import annotations

from tests.portal.browser.conftest import (  # noqa: F401  (pytest fixtures, found by name)
    browser_context_args,
    browser_type_launch_args,
    private_redis,
    shots,
    worker,
)
from tests.portal.support import PASSWORD, totp_now


def sign_in_operator(page, live_server_url: str, email: str, device) -> None:  # type: ignore[no-untyped-def]
    """The real sign-in: email, password, then a TOTP code one step ahead (enrolment used the current one)."""
    page.goto(f"{live_server_url}/console/login")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Continue").click()
    page.get_by_label("Authentication code").fill(totp_now(device, steps_ahead=1))
    page.get_by_role("button", name="Verify").click()
