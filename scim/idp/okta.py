"""Okta: OIN integrations and App Integration Wizard (AIW) custom SCIM apps.

Confidence: high (Okta's SCIM 2.0 reference and its Runscope spec tests).
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
    mappings,
)
from scim.quirks import Quirk

BEHAVIOUR = Behaviour(
    # The lookup attribute is configurable per OIN app; userName is the default and AIW's only choice.
    user_filters=('userName eq "…"',),
    group_filters=(),  # group import pages through GET /Groups instead of filtering
    connection_test="GET /Users?startIndex=1&count=2 (expects a ListResponse with integer counts)",
    # OIN: profile updates are GET then PUT of the full user, status changes are PATCH. AIW: PUT only.
    user_updates=("PUT", "PATCH"),
    # Group Push PATCHes members (preceded by a no-op rename carrying the id); AIW PUTs the full group.
    group_updates=("PATCH", "PUT"),
    paging=Paging(pages=True, page_size=100),
    member_batch_size=None,  # may split membership into several PATCHes; no fixed size is published
    deprovision=(Deprovision.PATCH_ACTIVE_FALSE, Deprovision.PUT_ACTIVE_FALSE),
    hard_deletes=False,  # Okta never sends DELETE /Users; unassign, suspend and deactivate all mean active=false
    reactions=Reactions(
        conflict_on_create="Shows an assignment error instead of linking. It links only users its "
        "userName lookup finds, so that filter must match case-insensitively.",
        not_found="A lookup filter must answer 200 with an empty list (404 is tolerated). [inferred] A 404 "
        "for an id Okta stored fails that push and becomes a task in Okta's dashboard.",
        throttled="No published 429/Retry-After handling for outbound SCIM; failed pushes become tasks "
        "that an admin (or Okta's automatic retry) re-runs.",
    ),
    notes=(
        "Every Group Push membership change comes with a rename PATCH {id, displayName}, even when "
        "the name did not change.",
        "Member objects carry display (the userName) but no type.",
        "POST /Users carries password (random unless password sync is on) and groups: [].",
        "A PUT without active must not deactivate the user.",
    ),
)

PROFILE = IdpProfile(
    key="okta",
    deprovision_hints=(
        "Okta sends no group removal for a user who is still Staged (not yet activated in Okta), so "
        "unassigning a staged user through a group changes nothing here.",
        "Okta deactivates (PATCH active=false) only when Provisioning > To App > Deactivate Users is "
        "enabled; unassigning the user is otherwise silent.",
    ),
    name="Okta",
    behaviour=BEHAVIOUR,
    user_agents=("okta scim",),  # "Okta SCIM Client 1.0.0"; the spec tests send "OKTA SCIM Integration"
    expected_quirks=frozenset(
        {Quirk.PATHLESS_READONLY_ID, Quirk.MEMBER_MISSING_TYPE, Quirk.MEMBERS_IN_USER_BODY_IGNORED}
    ),
    setup_steps=(
        SetupStep(
            "Create the app integration",
            "In the Okta Admin Console open Applications > Applications > Create App Integration, pick "
            "SAML 2.0 (or OIDC if you sign in that way) and finish the wizard. On the app's General tab, "
            "under App Settings, click Edit, set Provisioning to SCIM and Save. A Provisioning tab appears.",
        ),
        credentials_step(
            "Connect Okta to Rollcall",
            "Provisioning tab > Integration > Edit. Enter these values, click Test Connector "
            "Configuration (Okta sends GET /Users?startIndex=1&count=2), then Save.",
            "SCIM connector base URL",
            "Authorization",
            SetupField("Unique identifier field for users", "userName"),
            SetupField(
                "Supported provisioning actions",
                "Push New Users, Push Profile Updates, Push Groups (add Import New Users and Profile Updates "
                "to link existing users)",
            ),
            SetupField("Authentication Mode", "HTTP Header"),
        ),
        SetupStep(
            "Turn on provisioning to Rollcall",
            "Provisioning tab > To App > Edit: enable Create Users, Update User Attributes and Deactivate "
            "Users, then Save. Okta deactivates rather than deletes: Rollcall treats active=false as the "
            "offboarding signal.",
        ),
        SetupStep(
            "Assign people and push groups",
            "Assignments tab: assign users or groups. Push Groups tab: push the groups whose membership "
            "should drive roles in the app (Group Push is separate from assignment).",
        ),
    ),
    # Where this IdP fills an app field differently from Rollcall's common mapping
    # (directory.mapping.COMMON_MAPPING); every other field uses the common path.
    mapping_overrides=mappings(
        ('phoneNumbers[type eq "work"].value', "phone"),  # Okta's primaryPhone
    ),
    tagline='An app integration with SCIM provisioning: users, deactivation and Group Push.',
    watch_out='Set "Unique identifier field for users" to userName: Okta finds and links existing accounts by it, and a different field makes it create duplicates.',
    quiet_tips=(
        'Okta sends nothing until you act: click Test Connector Configuration on Provisioning > Integration, or assign a user on the Assignments tab.',
        'If the test says the credentials are invalid, check that Authentication Mode is HTTP Header and that the Authorization field holds only the token.',
    ),
    probes=(ConnectionProbe("GET", "Users", (("startIndex", "1"), ("count", "2"))),),
)
