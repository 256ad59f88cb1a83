"""Google Workspace auto-provisioning (on a SAML app).

Confidence: low-medium. Google documents outbound SCIM mostly for catalog apps; request shapes
here come from SP setup guides, so most behaviour is marked inferred. Treat it as "expect any
core-schema client".
"""

from __future__ import annotations

from scim.idp.base import (
    Behaviour,
    ConnectionProbe,
    Deprovision,
    IdpProfile,
    Paging,
    Reactions,
    SetupStep,
    credentials_step,
)

BEHAVIOUR = Behaviour(
    user_filters=('userName eq "…"',),
    group_filters=(),
    connection_test="GET /Users?count=1",
    user_updates=("PATCH", "PUT"),
    group_updates=("PATCH",),
    paging=Paging(pages=True, page_size=None),
    member_batch_size=None,
    # Chosen per trigger (app unassigned, user suspended, user deleted): suspend or delete.
    deprovision=(Deprovision.PATCH_ACTIVE_FALSE, Deprovision.DELETE),
    hard_deletes=True,  # when the admin picks "delete" for a trigger
    reactions=Reactions(
        conflict_on_create="[inferred] Logged as a provisioning error in the Admin console; the "
        "user is retried on a later sync.",
        not_found="[inferred] Logged as a provisioning error for that user.",
        throttled="[inferred] Not documented; Rollcall does not throttle SCIM writes.",
    ),
    notes=(
        "Attribute mappings are fixed per catalog app; custom SAML apps may not offer auto-provisioning "
        "in every edition: check that the Endpoint URL field exists in the customer's tenant.",
        "Scope is chosen by organizational unit or group.",
    ),
    inferred=frozenset(
        {"user_filters", "group_filters", "connection_test", "user_updates", "group_updates", "paging"}
    ),
)

PROFILE = IdpProfile(
    key="google",
    deprovision_hints=(
        "Google acts per trigger (app unassigned, user suspended, user deleted) as configured in the "
        "app's provisioning settings; \"Don't take any action\" sends nothing.",
    ),
    name="Google Workspace",
    aliases=("google_workspace", "gsuite", "g_suite", "workspace"),
    behaviour=BEHAVIOUR,
    user_agents=("google",),  # [inferred]
    expected_quirks=frozenset(),  # nothing non-RFC is documented
    setup_steps=(
        SetupStep(
            "Open the app in the Admin console",
            "Sign in to the Google Admin console as a super admin and open Apps > Web and mobile apps > "
            "your SAML app for this product. Auto-provisioning lives under that app; if the app has no "
            "Auto-provisioning section, your edition or app type does not offer outbound SCIM.",
        ),
        credentials_step(
            "Connect Google to Rollcall",
            "Click Auto-provisioning > Configure auto-provisioning, paste these values and click Continue "
            "(Google probes the endpoint).",
            "Endpoint URL",
            "Access token",
        ),
        SetupStep(
            "Map attributes and choose the scope",
            "Attribute mapping: Primary email -> userName, First name -> name.givenName, Last name -> "
            "name.familyName. Provisioning scope: the organizational units or groups to provision.",
        ),
        SetupStep(
            "Choose deprovisioning and turn it on",
            "Deprovisioning: for app unassigned, user suspended and user deleted pick Suspend (Rollcall "
            "sets active=false and keeps the record) or Delete. Finish, then switch Auto-provisioning to ON.",
        ),
    ),
    tagline="Only for apps in Google's catalog: Google has no SCIM for custom apps.",
    tile_badge="Limited",
    watch_out='Google Workspace sends SCIM only to apps whose Admin console page has an Auto-provisioning section. If yours has none, Google cannot provision Rollcall: connect Rollcall through another IdP that you run alongside Google (Okta, Entra ID, OneLogin or JumpCloud), or choose Generic SCIM 2.0 for a SCIM client of your own.',
    quiet_tips=(
        'Google probes the endpoint when you click Continue after pasting the Endpoint URL and Access token.',
        'If your app has no Auto-provisioning section, Google will never call Rollcall: see the note in step 2.',
    ),
    probes=(ConnectionProbe("GET", "Users", (("count", "1"),)),),
)
