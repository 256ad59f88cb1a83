"""Logging filters installed on every handler (settings.LOGGING): what must never reach a log line.

- Setup-link secrets: `/setup/<secret>` is a bearer credential in a URL. Django logs the path of
  every 4xx/5xx ("Not Found: /setup/<secret>"), so the path is redacted in the message and its
  arguments before any handler formats it.
- Health probes: /healthz answers 503 while a dependency is down, which is its job, not an error
  of the request; load balancers poll it every few seconds, so django.request's "Service
  Unavailable: /healthz" would flood the log exactly when someone is reading it.
"""

from __future__ import annotations

import logging
import re

SECRET_PATH = re.compile(r"(/setup/)[^/\s?#\"']+")
REDACTED = r"\1[redacted]"


def redact_text(text: str) -> str:
    return SECRET_PATH.sub(REDACTED, text)


def _redact_arg(value: object) -> object:
    return redact_text(value) if isinstance(value, str) else value


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.msg, str):
            record.msg = redact_text(record.msg)
        if isinstance(record.args, tuple):
            record.args = tuple(_redact_arg(a) for a in record.args)
        elif isinstance(record.args, dict):
            record.args = {k: _redact_arg(v) for k, v in record.args.items()}
        return True


class DropHealthProbeResponses(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        if record.name != "django.request":
            return True
        request = getattr(record, "request", None)
        return getattr(request, "path", None) != "/healthz"
