"""Rippling: a Custom App with "User Management via SCIM", driven by HR events.

Confidence: low-medium (SP setup guides). Its traffic depends on the feature boxes the admin ticks.
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
    user_filters=('userName eq "…"',),
    group_filters=(),
    connection_test="GET /ServiceProviderConfig",
    user_updates=("PATCH",),
    group_updates=("PATCH", "PUT"),  # PATCH when "Use PATCH to edit Groups" is ticked
    paging=Paging(pages=True, page_size=None),  # when "Supports Pagination" is ticked
    member_batch_size=None,
    deprovision=(Deprovision.PATCH_ACTIVE_FALSE, Deprovision.DELETE),  # termination; configuration decides
    hard_deletes=True,
    reactions=Reactions(
        conflict_on_create="Retries failures, so POST must be idempotent per externalId/userName: "
        "Rollcall answers 409 uniqueness and Rippling links on its next lookup.",
        not_found="[inferred] Reported as a sync error on the employee.",
        throttled="[inferred] Not documented; failed requests are retried.",
    ),
    notes=(
        "Lifecycle follows HR events (hire, termination, role change), not app assignment.",
        'Only the attributes typed into "Supported SCIM Attributes" are sent.',
    ),
    inferred=frozenset({"user_filters", "connection_test", "user_updates", "deprovision", "hard_deletes"}),
)

PROFILE = IdpProfile(
    key="rippling",
    deprovision_hints=(
        "Rippling deprovisions on the employee's termination date or app removal, as configured in the "
        "app's access rules.",
    ),
    name="Rippling",
    behaviour=BEHAVIOUR,
    user_agents=("rippling",),  # [inferred]
    expected_quirks=frozenset(),  # nothing non-RFC is documented
    setup_steps=(
        SetupStep(
            "Create the custom app",
            "In Rippling open Custom App (Identity Management / IT category) > Create New App. Enter the "
            "name, categories and logo, tick User Management via SCIM and click Continue.",
        ),
        credentials_step(
            "Connect Rippling to Rollcall",
            "Fill in the SCIM settings below and tick exactly these features: Supports Groups, Supports "
            "Pagination, Create & Delete Groups, Use PATCH to edit Groups. Install the app and paste the "
            "token when Rippling asks for it.",
            "SCIM Base URL",
            "Bearer Token",
            SetupField("SCIM Version", "2.0"),
            SetupField("SCIM Authorization Method", "Bearer Token"),
            SetupField(
                "Supported SCIM Attributes",
                "externalId, emails.primary, name.givenName, name.familyName, employeeNumber",
            ),
        ),
        SetupStep(
            "Access rules and attribute mappings",
            "App Access Rules: choose who gets the app (e.g. department or employment status). Attribute "
            'mappings: set every attribute to sync "On user creation and updates".',
        ),
        SetupStep(
            "Test and match",
            "Click Test Connection, then match existing accounts or let Rippling create them.",
        ),
    ),
    tagline='A Custom App with User Management via SCIM.',
    watch_out='Tick exactly the features listed in step 2 (groups, pagination, create and delete groups, PATCH for groups): Rippling decides which requests it sends from those boxes.',
    quiet_tips=(
        "Test Connection in the custom app's SCIM settings sends the first request.",
        'Only people matched by the App Access Rules are sent: check the rules if nothing arrives.',
    ),
    probes=(ConnectionProbe("GET", "ServiceProviderConfig"),),
)
