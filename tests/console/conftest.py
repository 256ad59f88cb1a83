"""Fixtures for the console backend's tests: webhooks to local receivers, fast retries."""

from __future__ import annotations

import pytest

from directory import attribute_mappings
from observability import activity
from tenants.models import Operator


@pytest.fixture(autouse=True)
def local_fast_webhooks(settings):  # type: ignore[no-untyped-def]
    settings.ROLLCALL_WEBHOOK_ALLOW_PRIVATE = True  # receivers listen on 127.0.0.1
    settings.ROLLCALL_WEBHOOK_RETRY_BASE = 30.0  # a failed delivery stays "retrying" for the test
    settings.ROLLCALL_WEBHOOK_MAX_ATTEMPTS = 3
    settings.ROLLCALL_WEBHOOK_TIMEOUT = 2.0


@pytest.fixture(autouse=True)
def _fresh_activity_throttle():  # type: ignore[no-untyped-def]
    activity.forget_marks_of_this_process()
    yield
    activity.forget_marks_of_this_process()


@pytest.fixture
def export_dir(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.ROLLCALL_EXPORT_DIR = tmp_path / "exports"
    return settings.ROLLCALL_EXPORT_DIR


@pytest.fixture(autouse=True)
def _forget_cached_mappings():  # type: ignore[no-untyped-def]
    """Mappings are cached per process and schema name; a rolled-back test must not leave one behind."""
    yield
    attribute_mappings._cache.clear()


@pytest.fixture
def support_operator(db):  # type: ignore[no-untyped-def]
    from tests.console.pages_support import make_operator

    return make_operator(Operator.Role.SUPPORT)


@pytest.fixture
def admin_operator(db):  # type: ignore[no-untyped-def]
    from tests.console.pages_support import make_operator

    return make_operator(Operator.Role.ADMIN)
