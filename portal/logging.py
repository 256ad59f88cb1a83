"""A logging filter that keeps setup-link and invite secrets out of every log line.

Django logs the path of 4xx responses and CSRF failures ("Bad Request: /setup/<secret>"); the
path segment after /setup/ is a bearer secret, so it is replaced before any handler sees it.
"""

from __future__ import annotations

import logging
import re

SETUP_SECRET = re.compile(r"(/setup/)[A-Za-z0-9_\-]{8,}")
REDACTED = r"\1[redacted]"


class RedactSecrets(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        redacted = SETUP_SECRET.sub(REDACTED, message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True
