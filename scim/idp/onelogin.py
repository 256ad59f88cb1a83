"""OneLogin: "SCIM Provisioner with SAML (SCIM v2 Enterprise)", driven by an admin-edited JSON template.

Confidence: medium (SP integration guides plus one real request log). Deprovisioning shapes are
inferred: verify them against a live tenant.
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

# The template we hand to customers: RFC URNs and the RFC manager shape, so a fresh OneLogin
# connection sends (almost) no quirks. OneLogin fills the {$...} placeholders per user.
JSON_TEMPLATE = (
    "{\n"
    '  "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User",\n'
    '              "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"],\n'
    '  "userName": "{$parameters.scimusername}",\n'
    '  "displayName": "{$user.display_name}",\n'
    '  "name": {"givenName": "{$user.firstname}", "familyName": "{$user.lastname}"},\n'
    '  "emails": [{"value": "{$user.email}", "type": "work", "primary": true}],\n'
    '  "title": "{$parameters.title}",\n'
    '  "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User": {\n'
    '    "department": "{$parameters.department}",\n'
    '    "manager": {"value": "{$parameters.external_manager_id}"}\n'
    "  }\n"
    "}"
)

BEHAVIOUR = Behaviour(
    user_filters=('userName eq "…"',),  # sent as filter=userName+eq+"…"& (plus signs, dangling &)
    group_filters=(),
    connection_test='Enable API Connection: GET /Users?filter=userName eq "…"&',
    user_updates=("PUT",),  # the full templated body, to /Users/{id}? (trailing ?)
    group_updates=("PATCH",),
    paging=Paging(pages=False),  # lookups go by filter; no paging documented
    member_batch_size=None,
    # "When users are deleted / removed from app": Delete or Suspend, the admin's choice.
    deprovision=(Deprovision.DELETE, Deprovision.PUT_ACTIVE_FALSE),
    hard_deletes=True,
    reactions=Reactions(
        conflict_on_create="[inferred] Shown as a per-user provisioning error; the admin retries it "
        "from OneLogin's provisioning queue.",
        not_found="[inferred] Shown as a per-user provisioning error.",
        throttled="[inferred] Not documented publicly.",
    ),
    notes=(
        "Bodies are whatever the admin's SCIM JSON Template renders: older templates use "
        "urn:scim:schemas:core:2.0, manager.managerId, empty strings for blank fields and "
        '"active": "{$user.active}" (a string).',
        "Group membership is PATCH on /Groups/{id} even though users are PUT.",
    ),
    inferred=frozenset({"group_filters", "paging", "deprovision", "hard_deletes"}),
)

PROFILE = IdpProfile(
    key="onelogin",
    deprovision_hints=(
        "With admin approval switched on, OneLogin queues the change until an admin approves it "
        "(Applications > Provisioning > pending).",
    ),
    name="OneLogin",
    aliases=("one_login",),
    behaviour=BEHAVIOUR,
    user_agents=("onelogin",),  # "OneLogin SCIM" when the admin adds it as a custom header
    schema_urns=(
        "urn:scim:schemas:core:2.0",
        "urn:scim:schemas:core:1.0",
        "urn:scim:schemas:extension:enterprise:2.0",
    ),
    expected_quirks=frozenset(
        {
            Quirk.NONSTANDARD_SCHEMA_URN,
            Quirk.EMPTY_STRING_CLEARS,
            Quirk.STRING_BOOLEAN,
            Quirk.MANAGER_ID_KEY,
            Quirk.TRAILING_QUERY_SEPARATOR,
            Quirk.SINGLE_OBJECT_FOR_MULTI_VALUED,
            Quirk.MEMBER_MISSING_TYPE,
        }
    ),
    setup_steps=(
        SetupStep(
            "Add the SCIM connector",
            'In OneLogin open Applications > Applications > Add App, search for "SCIM Provisioner with '
            "SAML (SCIM v2 Enterprise)\", select it, give it this product's name and Save.",
        ),
        credentials_step(
            "Connect OneLogin to Rollcall",
            "Configuration tab: paste these values, replacing the whole SCIM JSON Template, then under "
            "API Connection click Enable (OneLogin probes the base URL) and Save.",
            "SCIM Base URL",
            "SCIM Bearer Token",
            SetupField("SCIM JSON Template", JSON_TEMPLATE),
        ),
        SetupStep(
            "Set the SCIM username",
            "Parameters tab: open scimusername, set it to Email (or Username, whatever people sign in "
            "with), tick Include in User Provisioning and Save.",
        ),
        SetupStep(
            "Turn on provisioning",
            "Provisioning tab: tick Enable provisioning and the Create user, Delete user and Update user "
            'workflows. For "When users are deleted in OneLogin, or the user\'s app access is removed" '
            "choose Suspend (Rollcall keeps the user with active=false) or Delete. Save, then assign users "
            "(Users or Roles) and, for groups, add a Rule that maps roles or groups to this app's groups.",
        ),
    ),
    tagline='The SCIM Provisioner with SAML (SCIM v2 Enterprise) connector.',
    watch_out='On the Provisioning tab untick "Require admin approval before this action is performed" for create, update and delete: otherwise every change waits silently in a pending queue.',
    quiet_tips=(
        'Clicking Enable under API Connection on the Configuration tab sends the first request.',
        'Nothing arrives after assigning users? Look for provisioning tasks waiting for approval under Users > Provisioning.',
    ),
    probes=(ConnectionProbe("GET", "Users", filter_pattern=r'userName eq ".*"'),),
)
