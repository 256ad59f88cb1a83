"""Ping Identity: PingFederate's SCIM Provisioner and PingOne outbound SCIM provisioning.

Confidence: low-medium (Ping's connector settings reference; request shapes partly inferred).
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
    # "Unique User Identifier" is userName by default; an admin can override the Filter Expression
    # (e.g. externalId eq, emails eq), so every filterable attribute must work.
    user_filters=('userName eq "…"', 'externalId eq "…" (Filter Expression override)'),
    group_filters=(),  # fetches every group and matches client-side: GET /Groups paging must be right
    connection_test="Test Connection: an authenticated read of the Users resource",
    user_updates=("PUT",),  # PingFederate uses no PATCH for users
    group_updates=("PATCH",),
    paging=Paging(pages=True, page_size=None),
    member_batch_size=None,
    # "Remove User Action": Disable (default) or Delete.
    deprovision=(Deprovision.PUT_ACTIVE_FALSE, Deprovision.DELETE),
    hard_deletes=True,  # only with Remove User Action = Delete
    reactions=Reactions(
        conflict_on_create="[inferred] Logged in the provisioner's log and retried on the next cycle.",
        not_found="[inferred] Logged; with Disable the user is simply not updated.",
        throttled="[inferred] Not documented.",
    ),
    notes=(
        '"Provision Disabled Users" can POST users with active=false.',
        "PingOne's Group Membership Handling can be Merge or Overwrite (replace-style writes).",
        "OAuth 2 Client Credentials would make Ping fetch tokens from us; Rollcall offers bearer tokens.",
    ),
    inferred=frozenset({"connection_test", "paging", "group_updates"}),
)

PROFILE = IdpProfile(
    key="ping",
    deprovision_hints=(
        "PingOne provisions only while both the connection toggle and the provisioning rule are Active.",
    ),
    name="Ping Identity",
    aliases=("pingone", "pingfederate", "ping_identity", "pingidentity"),
    behaviour=BEHAVIOUR,
    user_agents=("pingfederate", "pingone", "ping identity"),  # [inferred]
    expected_quirks=frozenset(),  # nothing non-RFC is documented
    setup_steps=(
        credentials_step(
            "PingOne: create the provisioning connection",
            "In PingOne open Integrations > Provisioning, click + > New Connection, choose Identity Store "
            "and select the SCIM Outbound tile. On the Authentication step enter these values and click "
            "Test Connection. (PingFederate admins: use the next step instead.)",
            "SCIM Base URL",
            "OAuth Access Token",
            SetupField("SCIM Version", "2.0"),
            SetupField("Authentication Method", "OAuth 2 Bearer Token"),
            SetupField("Auth Type Header", "Bearer"),
        ),
        credentials_step(
            "PingFederate: configure the SCIM Provisioner",
            "In the SP connection for this app enable Outbound Provisioning, choose the SCIM Connector and "
            "fill in its settings.",
            "SCIM URL",
            "Access Token",
            SetupField("SCIM Version", "2.0"),
            SetupField("Authentication Methods", "OAuth 2 Bearer Token"),
            SetupField("Unique User Identifier", "userName"),
        ),
        SetupStep(
            "Choose what happens on removal",
            "Set Remove User Action (PingFederate) or Remove Action (PingOne) to Disable: Rollcall keeps the "
            "user with active=false and runs offboarding. Delete also works and removes the record.",
        ),
        SetupStep(
            "Map attributes and start",
            "Map userName, name.givenName, name.familyName and emails (plus enterprise department, "
            "employeeNumber and manager if you use them), add the users or groups in scope, and enable the "
            "connection or channel.",
        ),
    ),
    tagline='PingOne outbound provisioning or the PingFederate SCIM Provisioner.',
    watch_out='PingOne sends nothing until both the provisioning connection and its rule are Active: switch on both toggles.',
    quiet_tips=(
        "Test Connection on the connection's Authentication step sends the first request.",
        "Requests start only when the connection and the rule are both Active and the rule's filter matches someone.",
    ),
    probes=(ConnectionProbe("GET", "Users"),),
)
