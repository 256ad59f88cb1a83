"""Why Rollcall refused a SCIM request, and what fixes it: one sentence per status and scimType.

Pure: the verdict and the request-log explorer show these next to the error Rollcall returned.
"""

from __future__ import annotations

_BY_SCIM_TYPE = {
    "invalidValue": (
        "The IdP sent a value Rollcall cannot accept. Fix the IdP's attribute mapping so it sends the "
        "expected type (for active: true or false)."
    ),
    "invalidSyntax": "The request body is not valid SCIM JSON. Check the IdP's custom attribute expressions.",
    "invalidPath": "A PATCH path names no attribute of this resource. Remove or correct that attribute in the IdP's mapping.",
    "noTarget": "The PATCH path matched nothing in this resource (for example a value filter with no match).",
    "invalidFilter": "Rollcall could not read the IdP's filter. Report it: the IdP uses a filter form Rollcall should support.",
    "uniqueness": (
        "Another user already has this userName. Remove the duplicate in the IdP, or link the existing "
        "user by matching on userName."
    ),
    "mutability": "The IdP tried to change a read-only attribute (such as id). Remove it from the IdP's mapping.",
    "tooMany": "The request asked for more results than Rollcall returns at once; the IdP should page.",
    "sensitive": "The request carried sensitive data in the URL; the IdP should send it in the body.",
    "invalidVers": "The If-Match version was stale. The IdP retries with the current version on its next cycle.",
}

_BY_STATUS = {
    400: "Rollcall could not apply the request as sent. Check the IdP's attribute mapping for this attribute.",
    401: (
        "The bearer token was missing, wrong, revoked or expired. Paste the connection's current token "
        "into the IdP (rotate it in the console if nobody has it)."
    ),
    403: "This connection may not do that. Check that the IdP uses the connection meant for this tenant.",
    404: (
        "The IdP addressed a user Rollcall does not have (deleted, or created through another "
        "connection). Re-push the user from the IdP so it learns the current id."
    ),
    405: "The IdP used a method this endpoint does not support.",
    409: "The request conflicts with an existing resource (duplicate userName or displayName).",
    412: "The IdP's If-Match version was stale. It retries with the current version.",
    413: "The request was larger than Rollcall accepts. Lower the IdP's batch size.",
    429: "Rollcall asked the IdP to slow down. It retries after Retry-After.",
    500: "Rollcall failed while applying the request and changed nothing. The IdP retries; if it persists, report it.",
    501: "The IdP used a SCIM feature Rollcall does not implement.",
    503: "Rollcall was unavailable. The IdP retries on its next attempt.",
}


def rejection_fix(status: int, scim_type: str = "") -> str:
    """What the admin or operator can do about a refused request."""
    if scim_type and scim_type in _BY_SCIM_TYPE:
        return _BY_SCIM_TYPE[scim_type]
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if 500 <= status < 600:
        return _BY_STATUS[500]
    return _BY_STATUS[400]
