"""The strict RFC 7643/7644 profile: any standards-following SCIM client.

It expects no quirks. Rollcall still reads leniently, and detection (scim.idp.detection) looks
for a known IdP's user agent or characteristic quirks in a generic connection's traffic and
suggests that profile in the wizard.
"""

from __future__ import annotations

from scim.idp.base import (
    Behaviour,
    ConnectionProbe,
    Deprovision,
    IdpProfile,
    Paging,
    Reactions,
    SetupField,
    SetupStep,
    credentials_step,
)

BEHAVIOUR = Behaviour(
    user_filters=('userName eq "…"', 'externalId eq "…"'),
    group_filters=('displayName eq "…"', 'externalId eq "…"'),
    connection_test="GET /ServiceProviderConfig or GET /Users?count=1",
    user_updates=("PATCH", "PUT"),
    group_updates=("PATCH", "PUT"),
    paging=Paging(pages=True, page_size=None),
    member_batch_size=None,
    deprovision=(Deprovision.PATCH_ACTIVE_FALSE, Deprovision.DELETE),
    hard_deletes=True,
    reactions=Reactions(
        conflict_on_create="RFC 7644 §3.3: 409 with scimType uniqueness; a client should look the "
        "resource up by filter and link to it.",
        not_found="RFC 7644 §3.4.1: 404 for an unknown id; a filter with no match is 200 with an empty list.",
        throttled="RFC 7644 §3.12 allows 429; honour Retry-After.",
    ),
)

PROFILE = IdpProfile(
    key="generic",
    deprovision_hints=(
        "Check that the IdP is set to deactivate or delete users when their access to this app is "
        "removed: many IdPs only stop sending updates.",
    ),
    name="Generic SCIM 2.0",
    aliases=("scim", "other", "custom", "rfc"),
    behaviour=BEHAVIOUR,
    expected_quirks=frozenset(),
    setup_steps=(
        credentials_step(
            "Point your SCIM client at Rollcall",
            "Use these values in your identity provider's SCIM 2.0 (RFC 7644) client. Authenticate with "
            "the HTTP header Authorization: Bearer <token>.",
            "SCIM base URL",
            "Bearer token",
            SetupField("Unique identifier for users", "userName"),
        ),
        SetupStep(
            "Test the connection",
            "Run your IdP's connection test; the wizard shows each request as it arrives. If Rollcall "
            "recognises a known IdP in the traffic, it suggests that profile.",
        ),
        SetupStep(
            "Deprovision with active=false",
            "Prefer PATCH active=false over DELETE: Rollcall then keeps the user, runs offboarding and "
            "can reactivate. DELETE also works.",
        ),
    ),
    tagline='Any SCIM 2.0 client (RFC 7644) that sends a bearer token.',
    watch_out='Send the header as Authorization: Bearer <token>, with one Bearer and one space, and use the base URL as it is: your client appends /Users and /Groups itself.',
    quiet_tips=(
        "Run your client's connection test, or create one user: each request shows up here within seconds.",
        'A request that never arrives usually means a typo in the base URL or a firewall between your client and Rollcall.',
    ),
    probes=(ConnectionProbe("GET", "ServiceProviderConfig"), ConnectionProbe("GET", "Users", (("count", "1"),))),
)
