"""`python -m config.waitress_main <waitress options> app`: waitress, with its own error answers as SCIM
error documents.

Waitress answers a few requests itself, before the application sees them: a malformed request line
(400), headers over its limit (431), a body over MAX_REQUEST_BODY_BYTES (413). Its default body is
text/plain; the only clients that meet these answers are machines on /scim/ (issue 17: every answer
under /scim/ is a SCIM error document), and a JSON document with the status and the reason serves a
person with a browser just as well.
"""

from __future__ import annotations

import json
import sys

from waitress import runner, utilities

SCIM_ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"


def scim_error_response(error: utilities.Error, ident: str | None = None) -> tuple[str, list[tuple[str, str]], bytes]:
    """(status line, headers, body) of one of waitress's own error answers, as a SCIM error document."""
    detail = f"{error.reason}: {error.body}" if error.body else error.reason
    body = json.dumps({"schemas": [SCIM_ERROR], "status": str(error.code), "detail": detail}).encode()
    return f"{error.code} {error.reason}", [("Content-Type", "application/scim+json")], body


def main(argv: list[str]) -> int:
    utilities.Error.to_response = scim_error_response  # type: ignore[method-assign,assignment]
    return int(runner.run(argv=["waitress", *argv]) or 0)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
