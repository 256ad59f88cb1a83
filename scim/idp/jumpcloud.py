"""JumpCloud: "Custom SCIM Integration" (Identity Management on an SSO application).

Confidence: medium-low (JumpCloud's support article, SP guides, another project's fixtures).
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
from scim.quirks import Quirk

BEHAVIOUR = Behaviour(
    user_filters=('userName eq "…"',),
    group_filters=(),
    connection_test="GET /Users (must answer 200 even when empty), then it creates a test user and a "
    "test group and deletes both",
    user_updates=("PATCH",),  # one op per attribute, each with a path; active as a JSON boolean
    group_updates=("PATCH",),  # add: members value [{value}]; remove: the Entra-style value list
    paging=Paging(pages=False),
    member_batch_size=None,
    # DELETE when the SP supports it (Rollcall does); otherwise it deactivates.
    deprovision=(Deprovision.DELETE, Deprovision.PATCH_ACTIVE_FALSE),
    hard_deletes=True,
    reactions=Reactions(
        conflict_on_create="[inferred] Reported on the user in JumpCloud and retried.",
        not_found="[inferred] Reported on the user; a 404 on DELETE of its own test user fails activation.",
        throttled="[inferred] Not documented; JumpCloud retries failed requests.",
    ),
    notes=(
        "Activation writes real objects: a throw-away test user and group, deleted again. Rollcall "
        "suppresses notifications until the wizard is finished.",
        "No custom attribute mappings or extension schemas: only core attributes arrive.",
        "Member objects carry only value (no display, no type).",
    ),
    inferred=frozenset({"user_filters", "group_filters", "paging", "user_updates"}),
)

PROFILE = IdpProfile(
    key="jumpcloud",
    deprovision_hints=(
        "JumpCloud deactivates when the user is unbound from the application or suspended; removing "
        "them from an unrelated group sends nothing.",
    ),
    name="JumpCloud",
    aliases=("jump_cloud",),
    behaviour=BEHAVIOUR,
    user_agents=("jumpcloud",),  # [inferred]
    expected_quirks=frozenset({Quirk.MEMBER_REMOVE_VALUE_LIST, Quirk.MEMBER_MISSING_TYPE}),
    setup_steps=(
        SetupStep(
            "Create the application",
            "In the JumpCloud Admin Portal open SSO Applications > + Add New Application > Custom "
            'Application. Select "Export users to this app (Identity Management)" (and SSO if you use '
            "it), name the app, Save Application, then Configure Application.",
        ),
        credentials_step(
            "Connect JumpCloud to Rollcall",
            "Identity Management tab: fill in these values and click Test Connection. Activation creates a "
            "test user and a test group in Rollcall and deletes them again; Rollcall sends no welcome "
            "email for them.",
            "Base URL",
            "Token Key",
            SetupField("SCIM Version", "SCIM 2.0"),
            SetupField("Test User Email", "an address in your JumpCloud directory"),
        ),
        SetupStep(
            "Activate and include groups",
            'Tick "Enable management of User Groups and Group Membership in this application", click '
            "Activate, then Save.",
        ),
        SetupStep(
            "Bind user groups",
            "User Groups tab of the app: select the groups whose members should be provisioned and Save. "
            "Their membership is pushed as SCIM groups.",
        ),
    ),
    tagline='A Custom Application with Identity Management (SCIM 2.0).',
    watch_out='The Test User Email you give JumpCloud must not already exist in Rollcall: activation creates that user and a test group, and deletes them again.',
    quiet_tips=(
        'Test Connection on the Identity Management tab sends the first request; Activate then creates the test user.',
        "Only users in the user groups bound to the app are sent: check the app's User Groups tab.",
    ),
    probes=(ConnectionProbe("GET", "Users"),),
)
