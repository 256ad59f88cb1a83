"""What must never reach a log line: setup-link secrets, and health-probe 503s."""

from __future__ import annotations

import logging

import pytest
from django.test import Client

from config.logging_filters import DropHealthProbeResponses, RedactSecrets


def _handler_output(record: logging.LogRecord) -> str | None:
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(message)s"))
    for f in (RedactSecrets(), DropHealthProbeResponses()):
        if not f.filter(record):
            return None
    return handler.format(record)


def test_a_setup_link_secret_in_a_logged_path_is_redacted():
    record = logging.LogRecord("django.request", logging.WARNING, __file__, 1, "%s: %s", ("Not Found", "/setup/s3cr3t-TOKEN_x"), None)
    assert _handler_output(record) == "Not Found: /setup/[redacted]"
    inline = logging.LogRecord("x", logging.INFO, __file__, 1, "GET /setup/abc?x=1 done", None, None)
    assert _handler_output(inline) == "GET /setup/[redacted]?x=1 done"


@pytest.mark.django_db
def test_django_404_for_a_setup_link_never_logs_the_secret():
    secret = "Zq0-very-secret-setup-link-value"
    console = logging.getLogger().handlers[0]  # settings.LOGGING's console handler, with its filters
    seen: list[str] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(self.format(record))

    capture = Capture()
    capture.filters = list(console.filters)
    logging.getLogger().addHandler(capture)
    try:
        assert Client().get(f"/setup/{secret}/nothing-here").status_code == 404  # Django logs "Not Found: <path>"
    finally:
        logging.getLogger().removeHandler(capture)
    assert seen and all(secret not in line for line in seen)
    assert any("/setup/[redacted]" in line for line in seen)


@pytest.mark.django_db
def test_healthz_503_is_not_logged_as_an_error(settings):
    console = logging.getLogger().handlers[0]
    seen: list[logging.LogRecord] = []

    class Capture(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record)

    capture = Capture()
    capture.filters = list(console.filters)
    logging.getLogger().addHandler(capture)
    try:
        Client().get("/healthz")  # 503 or 200, depending on heartbeats: never an ERROR line
    finally:
        logging.getLogger().removeHandler(capture)
    assert not [r for r in seen if r.name == "django.request"]
